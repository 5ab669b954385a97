#include "tuner/pruners/curve/curve_forecast.h"

#include <algorithm>
#include <cmath>

#include "tuner/pruners/curve/curve_fit.h"

namespace knob::detail {
namespace {

// In units of the observed range: the least noise a fit is credited with (a curve fitted
// exactly is not known exactly), and the prior variance of each parameter.
constexpr double kMinNoise = 1e-3;
constexpr double kPriorVariance = 1.0;

// How much worse the family forecast its own curve than it expected: fitted to the early points,
// the mean over the later points of (error² / predicted variance), at least 1 (1 when the early
// points are too few to fit). A family whose shape misses the curve (one still rising where it
// saturates) gets its spread widened by as much; the normal approximation of a few points'
// fit, too.
double backtest_inflation(const CurveFamily& family, const std::vector<double>& x_early,
                          const std::vector<double>& z_early, const std::vector<double>& x,
                          const std::vector<double>& z) {
  const auto fit = fit_curve(family, x_early, z_early);
  if (!fit) return 1.0;
  const double noise = std::max(fit->noise_variance(), kMinNoise * kMinNoise);
  double ratio = 0;
  for (size_t i = x_early.size(); i < x.size(); ++i) {
    const double error = z[i] - fit->value(x[i]);
    ratio += error * error / fit->predictive_variance(x[i], noise, kPriorVariance);
  }
  ratio /= static_cast<double>(x.size() - x_early.size());
  return std::isfinite(ratio) ? std::max(ratio, 1.0) : 1.0;
}

}  // namespace

double CurveForecast::mean() const {
  double m = 0;
  for (const auto& member : members) m += member.weight * member.mean;
  return m;
}

double CurveForecast::probability_above(double threshold) const {
  double p = 0;
  for (const auto& member : members) {
    const double sd = std::sqrt(member.variance);
    const double z = (member.mean - threshold) / sd;
    p += member.weight *
         (sd > 0 ? 0.5 * std::erfc(-z / std::sqrt(2.0)) : (member.mean > threshold ? 1.0 : 0.0));
  }
  return p;
}

CurveForecast forecast_curve(const std::vector<double>& x, const std::vector<double>& y,
                             double x_target) {
  const auto [low, high] = std::minmax_element(y.begin(), y.end());
  const double offset = *low;
  const double scale = *high > *low ? *high - *low : 1.0;
  std::vector<double> z(y.size());
  for (size_t i = 0; i < y.size(); ++i) z[i] = (y[i] - offset) / scale;

  const double n = static_cast<double>(x.size());
  struct Scored {
    CurveForecast::Member member;
    double bic;
  };
  std::vector<Scored> scored;
  // The back-test: the first two thirds of the points, the rest held out.
  const size_t n_early = (2 * x.size() + 2) / 3;
  const std::vector<double> x_early(x.begin(), x.begin() + n_early);
  const std::vector<double> z_early(z.begin(), z.begin() + n_early);
  for (const auto& family : curve_families()) {
    auto fit = fit_curve(family, x, z);
    if (!fit) continue;
    const double noise = std::max(fit->noise_variance(), kMinNoise * kMinNoise);
    const double mean = fit->value(x_target);
    const double variance = fit->predictive_variance(x_target, noise, kPriorVariance) *
                            backtest_inflation(family, x_early, z_early, x, z);
    if (!std::isfinite(mean) || !std::isfinite(variance)) continue;
    const double bic =
        n * std::log(std::max(fit->rss / n, kMinNoise * kMinNoise)) + family.n_params * std::log(n);
    scored.push_back({{family.name, 0.0, offset + scale * mean, scale * scale * variance}, bic});
  }
  CurveForecast forecast;
  if (scored.empty()) return forecast;
  double best_bic = scored.front().bic;
  for (const auto& s : scored) best_bic = std::min(best_bic, s.bic);
  double total = 0;
  for (auto& s : scored) {
    s.member.weight = std::exp(-0.5 * (s.bic - best_bic));
    total += s.member.weight;
  }
  for (auto& s : scored) {
    s.member.weight /= total;
    forecast.members.push_back(s.member);
  }
  return forecast;
}

}  // namespace knob::detail
