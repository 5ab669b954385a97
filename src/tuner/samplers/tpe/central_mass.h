// Log mass of many truncated normals inside their bounds, at once (internal): the
// normalisers of the Parzen estimator's kernels, which it needs for every kernel of every
// numerical parameter on every ask.
//
// For standardized bounds a <= 0 <= b (the kernel's mean inside its bounds, as every TPE
// kernel's is) this is log1p(-Phi(a) - Phi(-b)), both tails by erfc: no cancellation, and
// glibc's vector erfc and log1p (libmvec, AVX2 where the CPU has it) compute four at a time.
// Accurate to a few ulp; log_gauss_mass (parzen_estimator.h) is the scalar reference.
//
// Example:
//   detail::log_central_mass(a.data(), b.data(), log_mass.data(), a.size());
#pragma once

#include <cstddef>

namespace knob::detail {

// out[j] = log(Phi(b[j]) - Phi(a[j])) for a[j] <= 0 <= b[j], finite; other j: unspecified.
void log_central_mass(const double* a, const double* b, double* out, std::size_t n);

}  // namespace knob::detail
