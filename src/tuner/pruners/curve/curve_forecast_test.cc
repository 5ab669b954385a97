// The combined forecast on noisy saturating curves of several shapes and scales (none exactly
// one family): the mixture's mean lands near the true value 3x beyond the points, its
// probabilities separate a threshold well above from one well below, and the weights sum to 1.
#include "tuner/pruners/curve/curve_forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace knob::detail {
namespace {

struct Noisy {
  std::vector<double> x, y;
};

Noisy observe(const std::function<double(double)>& curve, int n, double noise, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, noise);
  Noisy out;
  for (int i = 1; i <= n; ++i) {
    out.x.push_back(i);
    out.y.push_back(curve(i) + normal(rng));
  }
  return out;
}

TEST(CurveForecast, ExtrapolatesNoisySaturatingCurves) {
  struct Case {
    std::string name;
    std::function<double(double)> curve;
    double noise;
    double tolerance;  // of the mean at x = 60, in the curve's units
    double margin;     // thresholds this far above and below the truth are told apart
  };
  const std::vector<Case> cases = {
      {"accuracy, power law", [](double x) { return 0.9 - 0.5 * std::pow(x, -0.7); }, 0.004, 0.03,
       0.1},
      {"accuracy, exponential", [](double x) { return 0.88 - 0.6 * std::exp(-0.15 * x); }, 0.004,
       0.03, 0.1},
      {"accuracy, slow sigmoid in log x",
       [](double x) { return 0.92 - 0.7 / (1.0 + std::pow(x / 3.0, 1.2)); }, 0.004, 0.05, 0.12},
      // A minimized loss turned to a rising curve, on a scale far from [0, 1].
      {"negated loss of scale 100",
       [](double x) { return -(40.0 + 100.0 * std::pow(x + 1.0, -0.9)); }, 0.5, 4.0, 12.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (unsigned seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(seed);
      const Noisy data = observe(c.curve, 20, c.noise, seed);
      const CurveForecast f = forecast_curve(data.x, data.y, 60.0);
      ASSERT_FALSE(f.members.empty());
      double weights = 0;
      for (const auto& m : f.members) weights += m.weight;
      EXPECT_NEAR(weights, 1.0, 1e-12);
      const double truth = c.curve(60.0);
      EXPECT_NEAR(f.mean(), truth, c.tolerance);
      EXPECT_LT(f.probability_above(truth + c.margin), 0.05);
      EXPECT_GT(f.probability_above(truth - c.margin), 0.95);
    }
  }
}

TEST(CurveForecast, IsDeterministic) {
  const Noisy data = observe([](double x) { return 0.9 - 0.5 * std::pow(x, -0.7); }, 12, 0.01, 7);
  const CurveForecast a = forecast_curve(data.x, data.y, 40.0);
  const CurveForecast b = forecast_curve(data.x, data.y, 40.0);
  ASSERT_EQ(a.members.size(), b.members.size());
  for (size_t i = 0; i < a.members.size(); ++i) {
    EXPECT_EQ(a.members[i].family, b.members[i].family);
    EXPECT_EQ(a.members[i].mean, b.members[i].mean);
    EXPECT_EQ(a.members[i].variance, b.members[i].variance);
    EXPECT_EQ(a.members[i].weight, b.members[i].weight);
  }
}

TEST(CurveForecast, AFlatCurveForecastsItsValue) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};
  const std::vector<double> y(6, 0.5);
  const CurveForecast f = forecast_curve(x, y, 20.0);
  ASSERT_FALSE(f.members.empty());
  EXPECT_NEAR(f.mean(), 0.5, 0.01);
  EXPECT_LT(f.probability_above(0.6), 0.05);
}

}  // namespace
}  // namespace knob::detail
