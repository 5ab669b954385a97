// Natural logs of many values at once (internal): the Parzen estimator's log weights, one per
// kernel of every estimator on every ask. glibc's vector log (libmvec, AVX2 where the CPU has
// it) computes four at a time, within a few ulp of std::log (vector_log_test).
//
// Example:
//   detail::log_values(weights.data(), weights.size(), log_weights.data());
#pragma once

#include <cstddef>

namespace knob::detail {

// out[j] = log(x[j]) for x[j] >= 0 (log 0 = -inf); out may be x.
void log_values(const double* x, std::size_t n, double* out);

}  // namespace knob::detail
