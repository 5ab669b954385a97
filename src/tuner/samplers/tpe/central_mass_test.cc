// log_central_mass (built with -ffast-math) against the scalar log_gauss_mass.
#include "tuner/samplers/tpe/central_mass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tuner/samplers/tpe/parzen_estimator.h"

namespace knob::detail {
namespace {

TEST(CentralMassTest, EqualsTheScalarLogGaussMass) {
  std::vector<double> a, b;
  for (double lo : {-40.0, -12.0, -9.5, -5.0, -1.0, -0.3, 0.0}) {
    for (double hi : {0.0, 0.01, 0.7, 2.0, 8.9, 15.0, 39.0}) {
      if (hi > lo) a.push_back(lo), b.push_back(hi);  // a == b: no mass, log 0
    }
  }
  std::vector<double> out(a.size());
  for (size_t n : {a.size(), size_t{1}, size_t{3}}) {  // vector and remainder lanes
    log_central_mass(a.data(), b.data(), out.data(), n);
    for (size_t j = 0; j < n; ++j) {
      const double expected = log_gauss_mass(a[j], b[j]);
      EXPECT_NEAR(out[j], expected, 1e-14 * std::max(1.0, std::abs(expected)))
          << "a = " << a[j] << ", b = " << b[j];
    }
  }
}

}  // namespace
}  // namespace knob::detail
