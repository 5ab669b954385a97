// Each learning-curve family fitted to a curve of its own (noise-free): the fit reproduces the
// points, extrapolates to 3x the observed steps, and recovers the parameters where they are
// identified; too few points give no fit; the predictive variance grows with the noise and with
// the distance extrapolated.
#include "tuner/pruners/curve/curve_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace knob::detail {
namespace {

std::vector<double> steps(int first, int last) {
  std::vector<double> x;
  for (int i = first; i <= last; ++i) x.push_back(i);
  return x;
}

std::vector<double> values(const CurveFamily& family, const std::vector<double>& x,
                           const std::vector<double>& theta) {
  std::vector<double> y;
  for (double xi : x) y.push_back(family.value(xi, theta));
  return y;
}

TEST(CurveFit, EachFamilyExtrapolatesItsOwnCurve) {
  struct Case {
    std::string family;
    std::vector<double> theta;
    bool identified;  // whether 20 exact points pin the parameters down
  };
  // Curves rising from about 0 towards about 1 over 20 steps, still short of their asymptote.
  const std::vector<Case> cases = {
      {"pow3", {1.0, std::log(0.9), std::log(0.6)}, true},
      {"pow4", {1.0, std::log(1.2), std::log(0.8), std::log(2.0)}, false},
      {"exp3", {0.95, std::log(1.0), std::log(0.12)}, true},
      {"ilog2", {1.2, std::log(0.8)}, true},
      {"mmf", {1.0, std::log(0.9), std::log(0.2), std::log(1.3)}, false},
      {"weibull", {1.0, std::log(0.9), std::log(0.1), std::log(0.8)}, false},
      {"loglinear", {std::log(0.3), 0.05}, true},
  };
  ASSERT_EQ(cases.size(), curve_families().size());
  const std::vector<double> x = steps(1, 20);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.family);
    const CurveFamily* family = find_curve_family(c.family);
    ASSERT_NE(family, nullptr);
    ASSERT_EQ(family->n_params, static_cast<int>(c.theta.size()));
    const auto fit = fit_curve(*family, x, values(*family, x, c.theta));
    ASSERT_TRUE(fit.has_value());
    EXPECT_LT(fit->rss, 1e-8);
    for (double far : {30.0, 60.0}) {
      EXPECT_NEAR(fit->value(far), family->value(far, c.theta), 0.01) << "at x = " << far;
    }
    if (c.identified) {
      for (size_t j = 0; j < c.theta.size(); ++j) {
        EXPECT_NEAR(fit->theta[j], c.theta[j], 1e-3) << "theta[" << j << "]";
      }
    }
  }
}

TEST(CurveFit, FamiliesDoNotFitEachOthersCurvesExactly) {
  // The families differ: an exponential approach is no power law (else the weights would say
  // nothing).
  const std::vector<double> x = steps(1, 20);
  const auto y = values(*find_curve_family("exp3"), x, {0.95, 0.0, std::log(0.12)});
  const auto fit = fit_curve(*find_curve_family("ilog2"), x, y);
  ASSERT_TRUE(fit.has_value());
  EXPECT_GT(fit->rss, 1e-3);
}

TEST(CurveFit, NeedsMorePointsThanParameters) {
  const CurveFamily& pow3 = *find_curve_family("pow3");
  const std::vector<double> theta = {1.0, 0.0, 0.0};
  EXPECT_FALSE(fit_curve(pow3, steps(1, 3), values(pow3, steps(1, 3), theta)).has_value());
  EXPECT_TRUE(fit_curve(pow3, steps(1, 4), values(pow3, steps(1, 4), theta)).has_value());
}

TEST(CurveFit, PredictiveVarianceGrowsWithNoiseAndDistance) {
  const CurveFamily& pow3 = *find_curve_family("pow3");
  const std::vector<double> x = steps(1, 10);
  const auto fit = fit_curve(pow3, x, values(pow3, x, {1.0, 0.0, std::log(0.5)}));
  ASSERT_TRUE(fit.has_value());
  const double near = fit->predictive_variance(11.0, 1e-4, 1.0);
  const double far = fit->predictive_variance(100.0, 1e-4, 1.0);
  EXPECT_GE(near, 1e-4);
  EXPECT_GT(far, near);
  EXPECT_GT(fit->predictive_variance(100.0, 1e-2, 1.0), far);
}

}  // namespace
}  // namespace knob::detail
