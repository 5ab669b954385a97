// Built with -O3 -ffast-math (CMakeLists.txt): that is what lets GCC call glibc's vector
// exp. Fast-math assumes finite values; a -inf input becomes -700 through the compare
// below, which sum_exp_test checks still holds in the optimized build.
#include "tuner/samplers/tpe/sum_exp.h"

#include <cmath>

// An AVX2 clone and a default one, chosen at load time by an ifunc resolver. Not under
// ThreadSanitizer: the resolver runs before TSan's runtime is up and crashes instrumented
// (build-tsan's tuner_test died at load).
#if defined(__SANITIZE_THREAD__)
#define KNOB_AVX2_CLONES
#else
#define KNOB_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif

namespace knob::detail {

KNOB_AVX2_CLONES double max_value(const double* x, std::size_t n) {
  double m = x[0];
  for (std::size_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

KNOB_AVX2_CLONES double sum_exp_shifted(const double* x, std::size_t n, double shift) {
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double t = x[j] - shift;
    sum += std::exp(t > -700.0 ? t : -700.0);
  }
  return sum;
}

}  // namespace knob::detail
