// Sum of exponentials, the inner loop of the Parzen estimator's log-sum-exp (internal).
//
// The one place knob computes many exp()s per ask; glibc's vector exp (libmvec, AVX2 where
// the CPU has it) makes it about 3x faster than a scalar loop. Accurate to a few ulp.
//
// Example:
//   const double m = detail::max_value(terms.data(), terms.size());
//   const double log_sum = m + std::log(detail::sum_exp_shifted(terms.data(), terms.size(), m));
#pragma once

#include <cstddef>

namespace knob::detail {

// The largest of x[0..n) (-inf allowed; n >= 1).
double max_value(const double* x, std::size_t n);

// sum over j of exp(x[j] - shift), for x[j] <= shift (-inf allowed: it adds 0). Terms more
// than 700 below `shift` count as exp(-700).
double sum_exp_shifted(const double* x, std::size_t n, double shift);

}  // namespace knob::detail
