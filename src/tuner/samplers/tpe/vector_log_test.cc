// log_values (built with -ffast-math, glibc's vector log) against std::log, zeros included.
#include "tuner/samplers/tpe/vector_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace knob::detail {
namespace {

TEST(VectorLogTest, EqualsStdLogToAFewUlp) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> exponent(-300.0, 300.0);
  for (size_t n : {1, 3, 4, 5, 8, 1001}) {
    std::vector<double> x(n), out(n);
    for (double& v : x) v = std::pow(10.0, exponent(rng));
    x[0] = 1.0;
    log_values(x.data(), n, out.data());
    for (size_t j = 0; j < n; ++j) {
      const double expected = std::log(x[j]);
      EXPECT_NEAR(out[j], expected,
                  4 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(expected)))
          << x[j];
    }
  }
}

TEST(VectorLogTest, ZerosGiveMinusInfinityInPlace) {
  std::vector<double> x = {0.5, 0.0, 2.0, 1e-300, 0.0};
  log_values(x.data(), x.size(), x.data());
  EXPECT_DOUBLE_EQ(x[0], std::log(0.5));
  EXPECT_EQ(x[1], -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(x[2], std::log(2.0));
  EXPECT_DOUBLE_EQ(x[3], std::log(1e-300));
  EXPECT_EQ(x[4], -std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace knob::detail
