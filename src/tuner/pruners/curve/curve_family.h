// The parametric learning-curve families CurvePruner extrapolates with (internal), after Domhan,
// Springenberg & Hutter 2015: each is a curve f(x; θ) that rises towards an asymptote, x the
// step + 1. A family's rates and amplitudes are written as exp(θ_i), so every θ in R^p gives a
// curve that rises and saturates (loglinear rises without bound): the least-squares fit needs
// no constraints, and no fit turns into a falling or exploding curve.
//
//   pow3      c - e^a x^(-e^α)
//   pow4      c - e^a (x + e^s)^(-e^α)
//   exp3      c - e^(b - e^k x)
//   ilog2     c - e^a / log(x + 1)
//   mmf       α - e^d / (1 + (e^k x)^(e^δ))        (Morgan-Mercer-Flodin)
//   weibull   α - e^d exp(-(e^k x)^(e^δ))          (Janoschek's curve is the same family)
//   loglinear e^a log(x) + b
//
// Domhan's log-power and vapour-pressure curves are left out: they are anchored at 0, which
// means nothing once values are rescaled (curve_forecast.h).
//
// Example:
//   for (const CurveFamily& family : curve_families())
//     double y = family.value(10.0, family.initial_guesses(xs, ys).front());
#pragma once

#include <string>
#include <vector>

namespace knob::detail {

struct CurveFamily {
  std::string name;
  int n_params = 0;
  // f(x; θ); θ.size() == n_params.
  double (*value)(double x, const std::vector<double>& theta) = nullptr;
  // Starting points for the fit from the observed points (x ascending, y rising towards the
  // best): a few, so that one of them lies in the right basin.
  std::vector<std::vector<double>> (*initial_guesses)(const std::vector<double>& x,
                                                      const std::vector<double>& y) = nullptr;
};

// The families above, in that order.
const std::vector<CurveFamily>& curve_families();
// The family `name` (one of the above); nullptr if none is.
const CurveFamily* find_curve_family(const std::string& name);

}  // namespace knob::detail
