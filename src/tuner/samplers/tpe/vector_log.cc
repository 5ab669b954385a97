// Built with -O3 -ffast-math (CMakeLists.txt), as central_mass.cc: that is what lets GCC call
// glibc's vector log. Fast-math assumes finite values, so zeros (log -inf) take a scalar path.
#include "tuner/samplers/tpe/vector_log.h"

#include <cmath>
#include <limits>

#include "tuner/samplers/tpe/vector_clones.h"

namespace knob::detail {
namespace {

KNOB_AVX2_CLONES void log_positive(const double* x, std::size_t n, double* out) {
  for (std::size_t j = 0; j < n; ++j) out[j] = std::log(x[j]);
}

}  // namespace

void log_values(const double* x, std::size_t n, double* out) {
  bool positive = true;
  for (std::size_t j = 0; j < n; ++j) positive = positive && x[j] > 0;
  if (positive) return log_positive(x, n, out);
  for (std::size_t j = 0; j < n; ++j) {
    out[j] = x[j] > 0 ? std::log(x[j]) : -std::numeric_limits<double>::infinity();
  }
}

}  // namespace knob::detail
