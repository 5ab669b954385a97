// Built with -O3 -ffast-math (CMakeLists.txt): that is what lets GCC call glibc's vector
// exp. Fast-math assumes finite values; a -inf input becomes -700 through the compare
// below, which sum_exp_test checks still holds in the optimized build.
#include "tuner/samplers/tpe/sum_exp.h"

#include <cmath>

#include "tuner/samplers/tpe/vector_clones.h"

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
