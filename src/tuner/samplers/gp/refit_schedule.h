// When GpSampler refits its GP's hyperparameters (internal): at every ask while there are few
// observations, then each time their number has grown by a tenth since the last fit. In
// between, the last fit is kept and the GP's Cholesky factor grows by one row per new
// observation (GaussianProcess::append), so most asks at large n cost O(n²), not O(n³).
#pragma once

#include <algorithm>
#include <cstddef>

namespace knob::detail {

// Below this many observations the hyperparameters are refitted at every ask.
inline constexpr size_t kGpRefitAlways = 100;
// Beyond it, a refit when the observations have grown by 1/kGpRefitGrowth since the last one.
inline constexpr size_t kGpRefitGrowth = 10;

// True when hyperparameters last fitted to `fitted_n` observations are to be refitted for `n`.
inline bool gp_refit_due(size_t n, size_t fitted_n) {
  return n < kGpRefitAlways || n >= fitted_n + std::max<size_t>(1, fitted_n / kGpRefitGrowth);
}

}  // namespace knob::detail
