#include "knob/tuner/constraints.h"

#include <cmath>
#include <exception>

#include "knob/tuner/study.h"

namespace knob {

std::optional<std::vector<double>> trial_constraints(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(kConstraintsKey);
  if (it == trial.system_attrs.end() || !it->second.is_array()) return std::nullopt;
  std::vector<double> values;
  for (const Json& v : it->second) {
    if (!v.is_number()) return std::nullopt;
    values.push_back(v.get<double>());
  }
  return values;
}

double total_violation(const FrozenTrial& trial) {
  double sum = 0;
  if (auto values = trial_constraints(trial)) {
    for (double v : *values) sum += v > 0 ? v : 0;
  }
  return sum;
}

std::string store_constraints(Study& study, FrozenTrial& trial, const ConstraintsFunc& func) {
  std::vector<double> values;
  try {
    values = func(trial);
  } catch (const std::exception& e) {
    return std::string("constraints_func threw: ") + e.what();
  }
  for (double v : values) {
    if (std::isnan(v)) return "constraints_func returned NaN: " + dumps(Json(values));
  }
  study.storage().set_trial_system_attr(trial.trial_id, kConstraintsKey, Json(values));
  trial.system_attrs[kConstraintsKey] = Json(values);
  return "";
}

bool is_feasible(const FrozenTrial& trial) {
  auto values = trial_constraints(trial);
  if (!values) return true;
  for (double v : *values) {
    if (!(v <= 0)) return false;
  }
  return true;
}

}  // namespace knob
