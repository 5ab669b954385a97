// Test objectives shared by the sampler tests (not installed): Branin-Hoo, whose minimum
// 0.397887... is reached at three points of x in [-5, 10], y in [0, 15].
#pragma once

#include <cmath>

#include "knob/tuner/trial.h"

namespace knob::testing {

inline double branin(Trial& t) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", 0, 15);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, s = 10, tt = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + c * x - 6, 2) + s * (1 - tt) * std::cos(x) + s;
}
constexpr double kBraninMin = 0.397887357729739;

}  // namespace knob::testing
