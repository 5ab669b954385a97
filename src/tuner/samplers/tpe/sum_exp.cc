// Built with -O3 -ffast-math (CMakeLists.txt): that is what lets GCC call glibc's vector
// exp. Fast-math assumes finite values; a -inf input becomes -700 through the compare
// below, which sum_exp_test checks still holds in the optimized build.
#include "tuner/samplers/tpe/sum_exp.h"

#include <cmath>

namespace knob::detail {

__attribute__((target_clones("avx2", "default"))) double max_value(const double* x, std::size_t n) {
  double m = x[0];
  for (std::size_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

__attribute__((target_clones("avx2", "default"))) double sum_exp_shifted(const double* x,
                                                                         std::size_t n,
                                                                         double shift) {
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double t = x[j] - shift;
    sum += std::exp(t > -700.0 ? t : -700.0);
  }
  return sum;
}

}  // namespace knob::detail
