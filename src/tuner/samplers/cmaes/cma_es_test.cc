// CmaEs: the state after each tell against python3-cmaes 0.9.1 (CMA with and without bounds,
// CMAwM) on the same solutions, should_stop's verdicts, and convergence on the sphere and a
// badly conditioned ellipsoid.
#include "tuner/samplers/cmaes/cma_es.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tuner/samplers/cmaes/cmaes_golden.h"

namespace knob::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void expect_close(const std::vector<double>& actual, const std::vector<double>& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-9 * std::max(1.0, std::abs(expected[i])))
        << what << "[" << i << "]";
  }
}

CmaEs engine_of(const golden::CmaCase& c) {
  std::vector<CmaEs::Bound> bounds;
  for (size_t i = 0; i < c.mean.size(); ++i) {
    bounds.push_back(c.bounds.empty() ? CmaEs::Bound{-kInf, kInf}
                                      : CmaEs::Bound{c.bounds[i][0], c.bounds[i][1]});
  }
  return CmaEs(c.mean, c.sigma, bounds, c.population_size, c.steps);
}

TEST(CmaEs, SameStateAsPythonCmaesAfterEachTell) {
  for (const auto& c : golden::cma_cases()) {
    SCOPED_TRACE(c.name);
    CmaEs es = engine_of(c);
    ASSERT_EQ(es.population_size(), static_cast<int>(c.generations.front().values.size()));
    for (size_t g = 0; g < c.generations.size(); ++g) {
      SCOPED_TRACE("generation " + std::to_string(g + 1));
      const auto& gen = c.generations[g];
      std::vector<CmaEs::Solution> told;
      for (size_t k = 0; k < gen.values.size(); ++k)
        told.emplace_back(gen.solutions[k], gen.values[k]);
      es.tell(told);
      EXPECT_EQ(es.generation(), static_cast<int>(g + 1));
      expect_close(es.mean(), gen.mean, "mean");
      EXPECT_NEAR(es.sigma(), gen.sigma, 1e-9 * gen.sigma);
      expect_close(es.cov(), gen.cov, "C");
      expect_close(es.p_sigma(), gen.p_sigma, "p_sigma");
      expect_close(es.p_c(), gen.p_c, "p_c");
      expect_close(es.margin_scale(), gen.margin_scale, "A");
      EXPECT_EQ(es.should_stop(), gen.should_stop);
    }
  }
}

TEST(CmaEs, GoldenRunsEndWithAStop) {
  // The converging case must actually exercise should_stop (the generator runs to the stop).
  bool stopped = false;
  for (const auto& c : golden::cma_cases()) stopped |= c.generations.back().should_stop;
  EXPECT_TRUE(stopped);
}

TEST(CmaEs, StateRoundTripsThroughJson) {
  const auto cases = golden::cma_cases();
  const auto& c = cases.back();  // with margin
  CmaEs a = engine_of(c), b = engine_of(c);
  for (int g = 0; g < 3; ++g) {
    std::vector<CmaEs::Solution> told;
    for (size_t k = 0; k < c.generations[g].values.size(); ++k)
      told.emplace_back(c.generations[g].solutions[k], c.generations[g].values[k]);
    a.tell(told);
  }
  b.load_state(Json::parse(a.state().dump()));
  EXPECT_EQ(b.generation(), a.generation());
  EXPECT_EQ(b.mean(), a.mean());
  EXPECT_EQ(b.sigma(), a.sigma());
  EXPECT_EQ(b.cov(), a.cov());
  EXPECT_EQ(b.margin_scale(), a.margin_scale());
  Rng r1(3), r2(3);
  EXPECT_EQ(a.ask(r1).x_for_eval, b.ask(r2).x_for_eval);
}

// Runs generations until f < target or the budget is spent; returns evaluations used.
template <typename F>
int minimize(CmaEs& es, F f, double target, int budget, double* best) {
  Rng rng(11);
  int evals = 0;
  *best = kInf;
  while (evals < budget) {
    std::vector<CmaEs::Solution> told;
    for (int k = 0; k < es.population_size(); ++k) {
      auto s = es.ask(rng);
      const double v = f(s.x_for_eval);
      *best = std::min(*best, v);
      told.emplace_back(s.x_for_tell, v);
      ++evals;
    }
    es.tell(told);
    if (*best < target) break;
  }
  return evals;
}

TEST(CmaEs, Minimizes10dSphereAndEllipsoid) {
  const int n = 10;
  std::vector<CmaEs::Bound> free(n, {-kInf, kInf});
  auto sphere = [](const std::vector<double>& x) {
    double s = 0;
    for (double v : x) s += v * v;
    return s;
  };
  auto ellipsoid = [n](const std::vector<double>& x) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::pow(1e6, i / (n - 1.0)) * x[i] * x[i];
    return s;
  };
  double best;
  CmaEs a(std::vector<double>(n, 3.0), 2.0, free);
  const int sphere_evals = minimize(a, sphere, 1e-8, 20000, &best);
  EXPECT_LT(best, 1e-8) << "after " << sphere_evals << " evaluations";
  EXPECT_LT(sphere_evals, 3000);  // about 1,500 here (Hansen's tutorial: ~1,400)
  CmaEs b(std::vector<double>(n, 3.0), 2.0, free);
  const int ellipsoid_evals = minimize(b, ellipsoid, 1e-8, 50000, &best);
  EXPECT_LT(best, 1e-8) << "after " << ellipsoid_evals << " evaluations";
  EXPECT_LT(ellipsoid_evals, 20000);
}

TEST(CmaEs, DrawsStayInsideBoundsAndOnTheGrid) {
  std::vector<CmaEs::Bound> bounds = {{-1, 1}, {0, 4}, {-1, 1}};
  CmaEs es({0.9, 2, 0}, 5.0, bounds, 0, {0, 1, 0.5});
  Rng rng(5);
  for (int g = 0; g < 20; ++g) {
    std::vector<CmaEs::Solution> told;
    for (int k = 0; k < es.population_size(); ++k) {
      auto s = es.ask(rng);
      EXPECT_GE(s.x_for_eval[0], -1);
      EXPECT_LE(s.x_for_eval[0], 1);
      EXPECT_EQ(s.x_for_eval[0], s.x_for_tell[0]);
      EXPECT_EQ(s.x_for_eval[1], std::round(s.x_for_eval[1]));
      EXPECT_GE(s.x_for_eval[1], 0);
      EXPECT_LE(s.x_for_eval[1], 4);
      EXPECT_EQ(s.x_for_eval[2] * 2, std::round(s.x_for_eval[2] * 2));
      EXPECT_LE(std::abs(s.x_for_eval[2]), 1);
      told.emplace_back(s.x_for_tell, std::pow(s.x_for_eval[1] - 3, 2) + s.x_for_eval[0]);
    }
    es.tell(told);
  }
}

TEST(NormalQuantile, InvertsTheCdfToDoublePrecision) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-15);
  for (double p : {1e-12, 1e-6, 0.01, 0.02425, 0.2, 0.7, 0.99, 1 - 1e-9}) {
    EXPECT_NEAR(normal_cdf(normal_quantile(p)), p, 1e-13 * std::max(p, 1e-3)) << p;
  }
}

}  // namespace
}  // namespace knob::detail
