#include "knob/core/param_value.h"

#include "knob/core/error.h"

namespace knob {

Json to_json(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

ParamValue param_value_from_json(const Json& json, const std::string& field) {
  switch (json.type()) {
    case Json::value_t::null:
      return std::monostate{};
    case Json::value_t::boolean:
      return json.get<bool>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return json.get<int64_t>();
    case Json::value_t::number_float:
      return json.get<double>();
    case Json::value_t::string:
      return json.get<std::string>();
    default:
      throw_invalid(field, dumps(json), "must be null, a bool, a number or a string");
  }
}

std::string to_string(const ParamValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "None";
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "True" : "False";
  if (const std::string* s = std::get_if<std::string>(&value)) return *s;
  return dumps(to_json(value));
}

double as_double(const ParamValue& value, const std::string& field) {
  if (const double* d = std::get_if<double>(&value)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const bool* b = std::get_if<bool>(&value)) return *b ? 1.0 : 0.0;
  throw_invalid(field, to_string(value), "must be a number");
}

}  // namespace knob
