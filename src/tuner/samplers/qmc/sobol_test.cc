// SobolSequence: unscrambled points equal scipy's (golden from scripts/gen_sobol_golden.py),
// every 1-D projection of 2^m leading points is balanced, scrambled or not (a (0,m,1)-net),
// and the scramble is reproducible under a seed and differs across seeds.
#include "tuner/samplers/qmc/sobol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tuner/samplers/qmc/sobol_golden.h"

namespace knob::detail {
namespace {

// Coordinate d of golden point i.
double golden(int i, int d) {
  const std::string hex(golden::kSobolPointsHex[i] + 2 * d, 2);
  return std::stoi(hex, nullptr, 16) / 256.0;
}

TEST(Sobol, UnscrambledPointsEqualScipys) {
  for (int dims : {1, 2, 10, 40}) {
    SCOPED_TRACE(dims);
    SobolSequence sobol(dims);
    for (int i = 0; i < golden::kSobolPoints; ++i) {
      const std::vector<double> x = sobol.point(static_cast<uint64_t>(i));
      ASSERT_EQ(x.size(), static_cast<size_t>(dims));
      for (int d = 0; d < dims; ++d) ASSERT_EQ(x[d], golden(i, d)) << "point " << i << " dim " << d;
    }
  }
}

// Every interval [j / 2^k, (j + 1) / 2^k), k <= m, of every coordinate holds 2^(m - k) of the
// first 2^m points.
void expect_balanced(const SobolSequence& sobol, int m) {
  const int n = 1 << m;
  std::vector<std::vector<double>> points;
  for (int i = 0; i < n; ++i) points.push_back(sobol.point(static_cast<uint64_t>(i)));
  for (int d = 0; d < sobol.dims(); ++d) {
    for (int k = 1; k <= m; ++k) {
      std::vector<int> counts(1 << k, 0);
      for (const auto& x : points) {
        ASSERT_GE(x[d], 0.0);
        ASSERT_LT(x[d], 1.0);
        ++counts[static_cast<size_t>(x[d] * (1 << k))];
      }
      for (int count : counts) ASSERT_EQ(count, n >> k) << "dim " << d << ", intervals 2^-" << k;
    }
  }
}

TEST(Sobol, EveryDimensionOfTheTableIsBalanced) {
  EXPECT_GE(SobolSequence::max_dims(), 64);
  expect_balanced(SobolSequence(SobolSequence::max_dims()), 10);
}

TEST(Sobol, ScrambledPointsStayBalanced) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    SobolSequence sobol(64, &rng);
    expect_balanced(sobol, 8);
    // Scrambled: point 0 is not the origin, and points have more than 2^-8 resolution.
    EXPECT_NE(sobol.point(0), std::vector<double>(64, 0.0));
    const double scaled = sobol.point(5)[3] * 256;
    EXPECT_NE(scaled, std::floor(scaled));
  }
}

TEST(Sobol, SameSeedSamePointsOtherSeedOtherPoints) {
  Rng a(7), b(7), c(8);
  SobolSequence sa(5, &a), sb(5, &b), sc(5, &c);
  for (uint64_t i : {0u, 1u, 17u, 1000u}) {
    EXPECT_EQ(sa.point(i), sb.point(i));
    EXPECT_NE(sa.point(i), sc.point(i));
  }
}

}  // namespace
}  // namespace knob::detail
