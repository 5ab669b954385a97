// The Gaussian process behind GpSampler: posterior and log marginal likelihood against
// scikit-learn's numbers (scripts/gen_gp_golden.py -> gp_golden.h), gradients against finite
// differences, the categorical distance, the hyperparameter fit, rows appended to the
// Cholesky factor against a fresh factorisation, and log expected improvement against its
// closed form.
#include "tuner/samplers/gp/gaussian_process.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "knob/core/random.h"
#include "tuner/samplers/gp/gp_golden.h"

namespace knob::detail {
namespace {

Eigen::MatrixXd matrix(const std::vector<std::vector<double>>& rows) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()),
                    rows.empty() ? 0 : static_cast<Eigen::Index>(rows[0].size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) m(i, j) = rows[i][j];
  }
  return m;
}

Eigen::VectorXd vector(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

TEST(GaussianProcess, MatchesScikitLearnWithFixedHyperparameters) {
  for (const auto& c : golden::gp_cases()) {
    SCOPED_TRACE(c.name);
    const Eigen::MatrixXd x = matrix(c.x);
    const Eigen::VectorXd y = vector(c.y);
    const std::vector<bool> categorical(c.lengthscales.size(), false);
    GpHyperparameters h{vector(c.lengthscales), c.signal_variance, c.noise_variance};
    GaussianProcess gp(x, y, categorical, h);
    Eigen::VectorXd mean, var;
    gp.posterior(matrix(c.points), mean, var);
    ASSERT_EQ(mean.size(), static_cast<Eigen::Index>(c.mean.size()));
    for (size_t k = 0; k < c.mean.size(); ++k) {
      EXPECT_NEAR(mean(k), c.mean[k], 1e-9) << k;
      EXPECT_NEAR(var(k), c.var[k], 1e-9) << k;
    }
    Eigen::VectorXd gradient;
    const double lml = gp_log_marginal_likelihood(x, y, categorical, h, &gradient);
    EXPECT_NEAR(lml, c.log_marginal_likelihood, 1e-9 * std::abs(c.log_marginal_likelihood));
    ASSERT_EQ(gradient.size(), static_cast<Eigen::Index>(c.gradient.size()));
    for (size_t k = 0; k < c.gradient.size(); ++k) {
      EXPECT_NEAR(gradient(k), c.gradient[k], 1e-8 * (1 + std::abs(c.gradient[k]))) << k;
    }
  }
}

// Points with a categorical third column (choices 0, 1, 2).
struct Data {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  std::vector<bool> categorical{false, false, true};
};

Data mixed_data(int n, uint64_t seed) {
  Rng rng(seed);
  Data d;
  d.x.resize(n, 3);
  d.y.resize(n);
  for (int i = 0; i < n; ++i) {
    d.x(i, 0) = rng.uniform(), d.x(i, 1) = rng.uniform();
    d.x(i, 2) = static_cast<double>(rng.uniform_int(0, 2));
    d.y(i) = std::sin(5 * d.x(i, 0)) + d.x(i, 1) * d.x(i, 1) + (d.x(i, 2) == 1 ? 0.5 : 0.0) +
             0.05 * rng.normal();
  }
  return d;
}

TEST(GaussianProcess, GradientsMatchFiniteDifferences) {
  const Data d = mixed_data(15, 1);
  GpHyperparameters h{Eigen::Vector3d(0.4, 0.9, 1.3), 1.2, 0.02};
  Eigen::VectorXd g_lml, g_prior;
  gp_log_marginal_likelihood(d.x, d.y, d.categorical, h, &g_lml);
  gp_log_prior(h, &g_prior);
  ASSERT_EQ(g_lml.size(), 5);
  ASSERT_EQ(g_prior.size(), 5);
  // Moves log θ_k by ±eps.
  auto moved = [&](int k, double eps) {
    GpHyperparameters m = h;
    const double f = std::exp(eps);
    if (k < 3) m.lengthscales(k) *= f;
    if (k == 3) m.signal_variance *= f;
    if (k == 4) m.noise_variance *= f;
    return m;
  };
  const double eps = 1e-5;
  for (int k = 0; k < 5; ++k) {
    SCOPED_TRACE(k);
    const double lml_fd = (gp_log_marginal_likelihood(d.x, d.y, d.categorical, moved(k, eps)) -
                           gp_log_marginal_likelihood(d.x, d.y, d.categorical, moved(k, -eps))) /
                          (2 * eps);
    EXPECT_NEAR(g_lml(k), lml_fd, 1e-6 * (1 + std::abs(lml_fd)));
    const double prior_fd =
        (gp_log_prior(moved(k, eps)) - gp_log_prior(moved(k, -eps))) / (2 * eps);
    EXPECT_NEAR(g_prior(k), prior_fd, 1e-6 * (1 + std::abs(prior_fd)));
  }
}

TEST(GaussianProcess, CategoricalDimensionsCountZeroOrOne) {
  GpHyperparameters h{Eigen::Vector2d(0.5, 2.0), 1.5, 0.1};
  Eigen::MatrixXd a(3, 2);
  a << 0.2, 0, 0.2, 1, 0.2, 2;
  const Eigen::MatrixXd k = gp_kernel(a, a, {false, true}, h);
  // Any two different choices are at scaled distance 1 / l², however far their indices are.
  EXPECT_DOUBLE_EQ(k(0, 0), 1.5);
  EXPECT_DOUBLE_EQ(k(0, 1), 1.5 * matern52(1 / 4.0));
  EXPECT_DOUBLE_EQ(k(0, 2), 1.5 * matern52(1 / 4.0));
  EXPECT_DOUBLE_EQ(k(1, 2), 1.5 * matern52(1 / 4.0));
  // The closed form at r = 1: (1 + √5 + 5/3) e^{-√5}.
  EXPECT_NEAR(matern52(1.0), (1 + std::sqrt(5.0) + 5.0 / 3.0) * std::exp(-std::sqrt(5.0)), 1e-15);
}

TEST(GaussianProcess, FitRaisesTheObjectiveToAStationaryPoint) {
  const Data d = mixed_data(30, 2);
  auto objective = [&](const GpHyperparameters& h) {
    return gp_log_marginal_likelihood(d.x, d.y, d.categorical, h) + gp_log_prior(h);
  };
  const GpHyperparameters initial{Eigen::Vector3d::Ones(), 1.0, 1.0};
  const GpHyperparameters fitted = fit_gp(d.x, d.y, d.categorical, {}, 1e-6, false);
  EXPECT_GT(objective(fitted), objective(initial) + 1.0);
  EXPECT_GE(fitted.noise_variance, 1e-6);
  // The data have little noise (0.05²) next to their spread: the fit sees it.
  EXPECT_LT(fitted.noise_variance, 0.1);
  Eigen::VectorXd g_lml, g_prior;
  gp_log_marginal_likelihood(d.x, d.y, d.categorical, fitted, &g_lml);
  gp_log_prior(fitted, &g_prior);
  EXPECT_LT((g_lml + g_prior).lpNorm<Eigen::Infinity>(), 1e-3);

  const GpHyperparameters fixed = fit_gp(d.x, d.y, d.categorical, {}, 1e-6, true);
  EXPECT_EQ(fixed.noise_variance, 1e-6);
  // Warm-started from its own optimum, the fit stays there.
  const GpHyperparameters again = fit_gp(d.x, d.y, d.categorical, fitted, 1e-6, false);
  EXPECT_NEAR(objective(again), objective(fitted), 1e-6);
}

TEST(GaussianProcess, AppendedRowsEqualAFreshFactorisation) {
  const Data d = mixed_data(70, 3);
  const GpHyperparameters h{Eigen::Vector3d(0.3, 0.8, 1.1), 1.4, 1e-3};
  GaussianProcess grown(d.x.topRows(10), d.y.head(10), d.categorical, h);
  // 60 rows one at a time: past several growths of the factor's storage.
  for (Eigen::Index i = 10; i < 70; ++i) ASSERT_TRUE(grown.append(d.x.row(i))) << i;
  grown.set_targets(d.y);
  const GaussianProcess fresh(d.x, d.y, d.categorical, h);
  ASSERT_EQ(grown.size(), 70);
  EXPECT_LT((grown.cholesky_factor() - fresh.cholesky_factor()).lpNorm<Eigen::Infinity>(), 1e-10);
  const Eigen::MatrixXd points = mixed_data(40, 4).x;
  Eigen::VectorXd mean_grown, var_grown, mean_fresh, var_fresh;
  grown.posterior(points, mean_grown, var_grown);
  fresh.posterior(points, mean_fresh, var_fresh);
  EXPECT_LT((mean_grown - mean_fresh).lpNorm<Eigen::Infinity>(), 1e-10);
  EXPECT_LT((var_grown - var_fresh).lpNorm<Eigen::Infinity>(), 1e-10);
}

TEST(GaussianProcess, AppendRefusesADuplicateWithoutNoiseAndChangesNothing) {
  const Data d = mixed_data(8, 5);
  const GpHyperparameters noiseless{Eigen::Vector3d(0.5, 0.5, 1.0), 1.0, 0.0};
  GaussianProcess gp(d.x, d.y, d.categorical, noiseless);
  const Eigen::MatrixXd factor = gp.cholesky_factor();
  EXPECT_FALSE(gp.append(d.x.row(3)));
  EXPECT_EQ(gp.size(), 8);
  EXPECT_EQ(gp.cholesky_factor(), factor);
  // With noise the same duplicate is an ordinary observation.
  GaussianProcess noisy(d.x, d.y, d.categorical, {noiseless.lengthscales, 1.0, 1e-3});
  EXPECT_TRUE(noisy.append(d.x.row(3)));
  EXPECT_EQ(noisy.size(), 9);
}

// φ(z) + z Φ(z) in long double: exact enough to be the reference down to z = -40.
double log_h_reference(double z) {
  const long double zl = z;
  const long double phi = std::exp(-0.5L * zl * zl) / std::sqrt(2 * M_PIl);
  const long double cdf = 0.5L * std::erfc(-zl / std::sqrt(2.0L));
  return static_cast<double>(std::log(phi + zl * cdf));
}

TEST(LogExpectedImprovement, EqualsTheClosedFormAndStaysFiniteAndMonotone) {
  double previous = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= 4500; ++i) {
    const double z = -40 + 0.01 * i;
    const double value = log_h(z);
    ASSERT_TRUE(std::isfinite(value)) << z;
    EXPECT_GT(value, previous) << z;
    previous = value;
    EXPECT_NEAR(value, log_h_reference(z), 1e-9 * (1 + std::abs(value))) << z;
  }
  // Where the double formula is exact enough: log of σ (φ(z) + z Φ(z)).
  for (double z : {-2.0, -0.5, 0.0, 0.7, 3.0}) {
    const double mean = 0.3, sigma = 0.8, best = mean - z * sigma;
    const double ei = sigma * (std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI) +
                               z * 0.5 * std::erfc(-z / std::sqrt(2.0)));
    EXPECT_NEAR(log_expected_improvement(mean, sigma * sigma, best), std::log(ei), 1e-12) << z;
  }
  EXPECT_EQ(log_expected_improvement(1.0, 0.0, 2.0), -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(log_expected_improvement(2.5, 0.0, 2.0), std::log(0.5));
}

}  // namespace
}  // namespace knob::detail
