#include "knob/core/toml_value.h"

#include <toml++/toml.h>

#include <cmath>

#include "knob/core/error.h"
#include "knob/core/json.h"

namespace knob {
namespace {

TomlValue from_node(const toml::node& node) {
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_string()) return v->get();
  if (auto array = node.as_array()) {
    TomlValue::Array out;
    for (const auto& item : *array) out.push_back(from_node(item));
    return out;
  }
  if (auto table = node.as_table()) {
    TomlValue::Table out;
    for (const auto& [key, item] : *table)
      out.emplace_back(std::string(key.str()), from_node(item));
    return out;
  }
  // Dates and times: knob's configs have none; kept as the text the file gave.
  std::ostringstream text;
  node.visit([&](const auto& v) { text << v; });
  return text.str();
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return dumps(Json(v));  // 1.0, 0.5, 1e-08
}

}  // namespace

const TomlValue* TomlValue::get(const std::string& key) const {
  const Table* table = as<Table>();
  if (!table) return nullptr;
  for (const auto& [k, v] : *table) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string TomlValue::text() const {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return number_text(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return dumps(Json(v));
        } else if constexpr (std::is_same_v<T, Array>) {
          std::string out;
          for (const auto& item : v) out += (out.empty() ? "" : ", ") + item.text();
          return "[" + out + "]";
        } else {
          std::string out;
          for (const auto& [key, item] : v)
            out += (out.empty() ? "" : ", ") + key + " = " + item.text();
          return out.empty() ? "{}" : "{ " + out + " }";
        }
      },
      data_);
}

TomlValue parse_toml(const std::string& text, const std::string& origin) {
  toml::table parsed;
  try {
    parsed = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    throw InvalidArgument(origin + ":" + std::to_string(error.source().begin.line) + ":" +
                          std::to_string(error.source().begin.column) +
                          ": not valid TOML: " + std::string(error.description()));
  }
  return from_node(parsed);
}

}  // namespace knob
