// The log-sum-exp loops against scalar loops with std::exp, with -inf and far-below terms; the
// AVX2 vector exp's error against std::exp; and the AVX2 loops against the portable ones.
#include "tuner/samplers/tpe/sum_exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
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

// Distance in units in the last place of `expected`.
double ulps(double actual, double expected) {
  const double ulp = std::nextafter(expected, std::numeric_limits<double>::infinity()) - expected;
  return std::abs(actual - expected) / ulp;
}

TEST(SumExpTest, VectorExpIsWithinOneUlpOfStdExp) {
  if (!vector_exp_in_use()) GTEST_SKIP() << "no AVX2 + FMA: std::exp is used";
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> anywhere(-700.0, 709.0), near_zero(-2.0, 2.0);
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) x.push_back(i % 2 ? anywhere(rng) : near_zero(rng));
  // The ends, 0, and the points where the range reduction switches k.
  for (double v : {-700.0, 709.0, 0.0, -0.0, 0.5 * M_LN2, -0.5 * M_LN2, 1e-300, -1e-17}) {
    x.push_back(v);
  }
  std::vector<double> out(x.size());
  exp_values(x.data(), x.size(), out.data());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulps(out[i], std::exp(x[i])));
  EXPECT_LE(worst, 1.0);
}

// Random terms of a mixture at random points: the AVX2 loops give the portable loops' results
// to a few ulp (every length, so that each vector tail runs).
TEST(SumExpTest, VectorLoopsEqualThePortableOnes) {
  if (!vector_exp_in_use()) GTEST_SKIP() << "no AVX2 + FMA: only the portable loops run";
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 977}) {
    std::vector<double> mus(n), inv(n), offsets(n), acc(n);
    for (size_t j = 0; j < n; ++j) {
      mus[j] = unit(rng), inv[j] = 1.0 / (0.001 + 0.3 * unit(rng));
      offsets[j] = std::log(unit(rng) + 1e-3) - 3.0 * unit(rng), acc[j] = -5.0 * unit(rng);
    }
    const double x = unit(rng);
    std::vector<double> terms[2], squares[2] = {acc, acc};
    double largest[2], sum[2], max[2];
    for (int portable = 0; portable < 2; ++portable) {
      force_portable_exp(portable == 1);
      terms[portable].resize(n);
      largest[portable] =
          gauss_terms(x, mus.data(), inv.data(), offsets.data(), n, terms[portable].data());
      subtract_half_squares(x, mus.data(), inv.data(), n, squares[portable].data());
      max[portable] = max_value(terms[portable].data(), n);
      sum[portable] = sum_exp_shifted(terms[portable].data(), n, largest[portable]);
    }
    force_portable_exp(false);
    EXPECT_EQ(largest[0], max[0]) << n;
    EXPECT_EQ(largest[1], max[1]) << n;
    for (size_t j = 0; j < n; ++j) {
      EXPECT_NEAR(terms[0][j], terms[1][j], 1e-15 * std::max(1.0, std::abs(terms[1][j]))) << n;
      EXPECT_NEAR(squares[0][j], squares[1][j], 1e-15 * std::max(1.0, std::abs(squares[1][j])))
          << n;
    }
    EXPECT_NEAR(largest[0], largest[1], 1e-15 * std::max(1.0, std::abs(largest[1]))) << n;
    EXPECT_NEAR(sum[0], sum[1], 4e-16 * static_cast<double>(n) * sum[1]) << n;
  }
}

TEST(SumExpTest, GaussTermsWithoutKernelsOrWithZeroWeights) {
  const double inf = std::numeric_limits<double>::infinity();
  for (int portable = 0; portable < 2; ++portable) {
    force_portable_exp(portable == 1);
    EXPECT_EQ(gauss_terms(0.5, nullptr, nullptr, nullptr, 0, nullptr), -inf);
    std::vector<double> mus(6, 0.5), inv(6, 4.0), offsets(6, -inf), out(6);
    EXPECT_EQ(gauss_terms(0.5, mus.data(), inv.data(), offsets.data(), 6, out.data()), -inf);
    offsets[5] = -1.0;
    EXPECT_EQ(gauss_terms(0.75, mus.data(), inv.data(), offsets.data(), 6, out.data()), -1.5);
    EXPECT_EQ(out[0], -inf);
  }
  force_portable_exp(false);
}

}  // namespace
}  // namespace knob::detail
