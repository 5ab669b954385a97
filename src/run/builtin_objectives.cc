#include "knob/run/builtin_objectives.h"

#include <cmath>

#include "knob/core/error.h"

namespace knob::run {
namespace {

double branin(Trial& t) {
  double x = t.suggest_float("x", -5.0, 10.0);
  double y = t.suggest_float("y", 0.0, 15.0);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, s = 10, r = 6, u = 1 / (8 * M_PI);
  return std::pow(y - b * x * x + c * x - r, 2) + s * (1 - u) * std::cos(x) + s;
}

// A learning curve: the "loss" after each of 10 steps approaches a floor set by the
// parameters, so pruners have intermediate values to judge.
double curve(Trial& t) {
  double lr = t.suggest_float("lr", 1e-4, 1.0, {.log = true});
  int64_t width = t.suggest_int("width", 8, 256, {.log = true});
  double floor = std::pow(std::log10(lr) + 2.0, 2) + 4.0 / static_cast<double>(width);
  double value = 0;
  for (int64_t step = 0; step < 10; ++step) {
    value = floor + 2.0 / static_cast<double>(step + 1);
    t.report(value, step);
    if (t.should_prune()) throw TrialPruned();
  }
  return value;
}

double rosenbrock(Trial& t) {
  double x = t.suggest_float("x", -2.0, 2.0);
  double y = t.suggest_float("y", -1.0, 3.0);
  return std::pow(1 - x, 2) + 100 * std::pow(y - x * x, 2);
}

}  // namespace

const std::vector<BuiltinObjective>& builtin_objectives() {
  static const std::vector<BuiltinObjective> kObjectives = {
      {"branin",
       "Branin-Hoo on x in [-5, 10], y in [0, 15]",
       0.397887357729738,
       branin,
       {"x", "y"}},
      {"curve",
       "a learning curve over lr (log) and width (log int), 10 reported steps",
       0.015625,
       curve,
       {"lr", "width"}},
      {"rosenbrock", "Rosenbrock on x in [-2, 2], y in [-1, 3]", 0.0, rosenbrock, {"x", "y"}},
  };
  return kObjectives;
}

const BuiltinObjective& find_builtin_objective(const std::string& name) {
  std::string known;
  for (const auto& objective : builtin_objectives()) {
    if (objective.name == name) return objective;
    known += (known.empty() ? "" : ", ") + objective.name;
  }
  throw_invalid("--objective", name, "must be one of " + known);
}

}  // namespace knob::run
