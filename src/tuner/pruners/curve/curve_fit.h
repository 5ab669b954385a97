// Least-squares fit of one learning-curve family to observed points (internal), by
// Levenberg–Marquardt from each of the family's starting points, keeping the best fit; and the
// variance of the fitted curve's prediction at a later x (the delta method over a Laplace
// approximation of the parameters). Deterministic: no random restarts.
//
// Example:
//   auto fit = detail::fit_curve(*detail::find_curve_family("pow3"), x, y);
//   if (fit) double at_50 = fit->value(50.0);
#pragma once

#include <optional>
#include <vector>

#include "tuner/pruners/curve/curve_family.h"

namespace knob::detail {

struct CurveFit {
  const CurveFamily* family = nullptr;
  std::vector<double> theta;
  double rss = 0.0;  // residual sum of squares
  int n_points = 0;
  std::vector<double> jtj;  // JᵀJ at theta (J: ∂f(x_i)/∂θ_j), row-major p×p

  double value(double x) const { return family->value(x, theta); }
  // Residual variance, rss / (n - p): the noise of one observation as the fit sees it.
  double noise_variance() const;
  // Variance of a new observation at x: noise + gᵀ Σ g, g = ∂f(x)/∂θ, Σ = (JᵀJ / noise +
  // I / prior_variance)⁻¹ — the parameters' Laplace posterior under a wide Gaussian prior
  // centred on the fit, which keeps an unidentified direction (an asymptote the points do not
  // reach yet) wide instead of infinite.
  double predictive_variance(double x, double noise, double prior_variance) const;
};

// The best fit of `family` to (x, y) over its starting points; nullopt when there are no more
// points than parameters or no start gives a finite fit. x ascending, x >= 1.
std::optional<CurveFit> fit_curve(const CurveFamily& family, const std::vector<double>& x,
                                  const std::vector<double>& y);

}  // namespace knob::detail
