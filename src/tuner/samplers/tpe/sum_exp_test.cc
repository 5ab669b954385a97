// sum_exp_shifted (built with -ffast-math) against a scalar loop, with -inf and far-below terms.
#include "tuner/samplers/tpe/sum_exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace knob::detail {
namespace {

TEST(SumExpTest, EqualsTheScalarSumToAFewUlp) {
  for (size_t n : {0, 1, 3, 4, 7, 64, 1001}) {
    std::vector<double> x(n);
    for (size_t j = 0; j < n; ++j) x[j] = -std::fmod(static_cast<double>(j) * 0.7391, 45.0);
    const double shift = n ? 0.25 : 0.0;
    double expected = 0;
    for (double v : x) expected += std::exp(v - shift);
    EXPECT_NEAR(sum_exp_shifted(x.data(), n, shift), expected, 1e-14 * std::max(1.0, expected))
        << n;
  }
}

TEST(SumExpTest, MinusInfinityAddsNothing) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> x = {-inf, 0.0, -inf, std::log(0.5), -inf, -inf, -inf, -1e300};
  EXPECT_NEAR(sum_exp_shifted(x.data(), x.size(), 0.0), 1.5, 1e-15);
  std::vector<double> only = {-inf, -inf, -inf, -inf, -inf};
  EXPECT_LT(sum_exp_shifted(only.data(), only.size(), 0.0), 1e-300);
  EXPECT_EQ(max_value(only.data(), only.size()), -inf);
  EXPECT_EQ(max_value(x.data(), x.size()), 0.0);
}

TEST(SumExpTest, MaxValueFindsTheLargestAnywhere) {
  for (size_t n : {1, 2, 5, 8, 33}) {
    for (size_t at = 0; at < n; ++at) {
      std::vector<double> x(n, -3.0);
      x[at] = 2.5;
      EXPECT_EQ(max_value(x.data(), n), 2.5) << n << " " << at;
    }
  }
}

}  // namespace
}  // namespace knob::detail
