#include "tuner/pruners/curve/curve_fit.h"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

namespace knob::detail {
namespace {

constexpr int kMaxIterations = 200;

// ∂f(x)/∂θ by central differences.
Eigen::VectorXd gradient(const CurveFamily& family, double x, const std::vector<double>& theta) {
  const auto p = static_cast<Eigen::Index>(theta.size());
  Eigen::VectorXd g(p);
  std::vector<double> t = theta;
  for (Eigen::Index j = 0; j < p; ++j) {
    const double h = 1e-6 * std::max(1.0, std::abs(theta[j]));
    t[j] = theta[j] + h;
    const double up = family.value(x, t);
    t[j] = theta[j] - h;
    const double down = family.value(x, t);
    t[j] = theta[j];
    g(j) = (up - down) / (2.0 * h);
  }
  return g;
}

double residual_sum(const CurveFamily& family, const std::vector<double>& x,
                    const std::vector<double>& y, const std::vector<double>& theta) {
  double rss = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - family.value(x[i], theta);
    rss += r * r;
  }
  return std::isfinite(rss) ? rss : std::numeric_limits<double>::infinity();
}

// Levenberg–Marquardt with Marquardt's diagonal scaling, from `theta`.
CurveFit levenberg_marquardt(const CurveFamily& family, const std::vector<double>& x,
                             const std::vector<double>& y, std::vector<double> theta) {
  const auto n = static_cast<Eigen::Index>(x.size());
  const auto p = static_cast<Eigen::Index>(theta.size());
  double rss = residual_sum(family, x, y, theta);
  double lambda = 1e-3;
  Eigen::MatrixXd jacobian(n, p);
  Eigen::VectorXd residual(n);
  for (int iteration = 0; iteration < kMaxIterations && std::isfinite(rss); ++iteration) {
    for (Eigen::Index i = 0; i < n; ++i) {
      jacobian.row(i) = gradient(family, x[i], theta).transpose();
      residual(i) = y[i] - family.value(x[i], theta);
    }
    const Eigen::MatrixXd a = jacobian.transpose() * jacobian;
    const Eigen::VectorXd g = jacobian.transpose() * residual;
    if (!a.allFinite() || !g.allFinite()) break;
    bool improved = false;
    while (lambda < 1e12) {
      Eigen::MatrixXd damped = a;
      for (Eigen::Index j = 0; j < p; ++j) damped(j, j) += lambda * std::max(a(j, j), 1e-12);
      const Eigen::VectorXd step = damped.ldlt().solve(g);
      std::vector<double> trial = theta;
      for (Eigen::Index j = 0; j < p; ++j) trial[j] += step(j);
      const double trial_rss = residual_sum(family, x, y, trial);
      if (step.allFinite() && trial_rss < rss) {
        const double gain = rss - trial_rss;
        theta = trial;
        rss = trial_rss;
        lambda = std::max(lambda * 0.3, 1e-12);
        improved = gain > 1e-14 * (rss + 1e-30) && step.norm() > 1e-12;
        break;
      }
      lambda *= 10.0;
    }
    if (!improved) break;
  }
  CurveFit fit;
  fit.family = &family;
  fit.theta = theta;
  fit.rss = rss;
  fit.n_points = static_cast<int>(n);
  Eigen::MatrixXd jtj = Eigen::MatrixXd::Zero(p, p);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd gi = gradient(family, x[i], theta);
    jtj += gi * gi.transpose();
  }
  fit.jtj.assign(jtj.data(), jtj.data() + p * p);  // symmetric: row- and column-major agree
  return fit;
}

}  // namespace

double CurveFit::noise_variance() const {
  return rss / static_cast<double>(n_points - static_cast<int>(theta.size()));
}

double CurveFit::predictive_variance(double x, double noise, double prior_variance) const {
  const auto p = static_cast<Eigen::Index>(theta.size());
  Eigen::MatrixXd precision = Eigen::Map<const Eigen::MatrixXd>(jtj.data(), p, p) / noise;
  precision.diagonal().array() += 1.0 / prior_variance;
  const Eigen::VectorXd g = gradient(*family, x, theta);
  const double spread = g.dot(precision.ldlt().solve(g));
  return noise + (std::isfinite(spread) && spread > 0 ? spread : 0.0);
}

std::optional<CurveFit> fit_curve(const CurveFamily& family, const std::vector<double>& x,
                                  const std::vector<double>& y) {
  if (x.size() <= static_cast<size_t>(family.n_params)) return std::nullopt;
  std::optional<CurveFit> best;
  for (const auto& start : family.initial_guesses(x, y)) {
    CurveFit fit = levenberg_marquardt(family, x, y, start);
    if (!std::isfinite(fit.rss)) continue;
    if (!best || fit.rss < best->rss) best = std::move(fit);
  }
  return best;
}

}  // namespace knob::detail
