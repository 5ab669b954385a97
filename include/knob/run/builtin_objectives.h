// Built-in objectives for `knob tune --objective NAME`: classic optimization test functions
// with known minima, so a study can run (and be checked) without any model.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "knob/tuner/trial.h"

namespace knob::run {

struct BuiltinObjective {
  std::string name;
  std::string description;
  double known_minimum;
  std::function<double(Trial&)> function;
  std::vector<std::string> params;  // the parameters `function` suggests (a --grid names each)
};

const std::vector<BuiltinObjective>& builtin_objectives();
// Throws InvalidArgument naming the objective and listing the known ones.
const BuiltinObjective& find_builtin_objective(const std::string& name);

}  // namespace knob::run
