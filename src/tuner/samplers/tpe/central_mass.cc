// Built with -O3 -ffast-math (CMakeLists.txt), as sum_exp.cc: that is what lets GCC call
// glibc's vector erfc and log1p. The bounds are finite, so fast-math's assumptions hold.
#include "tuner/samplers/tpe/central_mass.h"

#include <cmath>

#include "tuner/samplers/tpe/vector_clones.h"

namespace knob::detail {

KNOB_AVX2_CLONES void log_central_mass(const double* a, const double* b, double* out,
                                       std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    const double tails = std::erfc(-a[j] * M_SQRT1_2) + std::erfc(b[j] * M_SQRT1_2);
    out[j] = std::log1p(-0.5 * tails);
  }
}

}  // namespace knob::detail
