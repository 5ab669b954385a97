// ParamValue: the value of one hyperparameter as the user sees it — a number, a string, a
// bool or None (Optuna's categorical choices allow all of these). Floats and ints come from
// Float/IntDistribution; any of them may be a categorical choice.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "knob/core/json.h"

namespace knob {

using ParamValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

// JSON as Python writes it: null, true/false, 3, 0.5, "adam".
Json to_json(const ParamValue& value);
// The inverse of to_json; throws InvalidArgument naming `field` for arrays and objects.
ParamValue param_value_from_json(const Json& json, const std::string& field = "value");
// Short human text: None, True, 3, 0.5, adam (as Python's str() would print it).
std::string to_string(const ParamValue& value);
// The value as a double when it is numeric (bool and int included); throws InvalidArgument.
double as_double(const ParamValue& value, const std::string& field = "value");

}  // namespace knob
