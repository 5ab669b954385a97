// KNOB_AVX2_CLONES: compile a function twice, for AVX2 and for any x86-64, the one to run
// chosen at load time by an ifunc resolver (internal; the TPE files that call glibc's vector
// maths). Not under ThreadSanitizer: the resolver runs before TSan's runtime is up and
// crashes instrumented (build-tsan's tuner_test died at load).
//
// Example:
//   KNOB_AVX2_CLONES double sum(const double* x, std::size_t n);
#pragma once

#if defined(__SANITIZE_THREAD__)
#define KNOB_AVX2_CLONES
#else
#define KNOB_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif
