// The forecast of a learning curve's value at a later step (internal): every family of
// curve_family.h fitted to the observed points (curve_fit.h), weighted by its Bayesian
// information criterion, exp(-BIC/2) normalized, BIC = n log(RSS/n) + p log n; each family
// predicts a normal distribution (its fit's value, its predictive variance), and the forecast
// is their mixture — a deterministic stand-in for the MCMC over weights and parameters of
// Domhan, Springenberg & Hutter 2015.
//
// Values are rescaled to [0, 1] over the observed range before fitting (the families' starting
// points and the noise floor assume it), and the forecast is scaled back.
//
// Example (higher is better; the curve's value at step 99 beating 0.9?):
//   detail::CurveForecast f = detail::forecast_curve(x, y, 100.0);
//   if (!f.members.empty() && f.probability_above(0.9) < 0.05) { /* stop */ }
#pragma once

#include <string>
#include <vector>

namespace knob::detail {

struct CurveForecast {
  struct Member {
    std::string family;
    double weight = 0;  // the members' weights sum to 1
    double mean = 0;    // the fitted curve's value at the target
    double variance = 0;
  };
  std::vector<Member> members;  // the families that fitted; none: no forecast

  double mean() const;
  // P(value at the target > threshold) under the mixture.
  double probability_above(double threshold) const;
};

// Fits the families to (x, y), x ascending and >= 1, y rising towards better values (negate a
// loss), and forecasts y at x_target.
CurveForecast forecast_curve(const std::vector<double>& x, const std::vector<double>& y,
                             double x_target);

}  // namespace knob::detail
