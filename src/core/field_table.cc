#include "knob/core/field_table.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace knob {
namespace {

std::string must_be(const std::string& what, const Rule& rule, bool bound = true) {
  return "must be " + what + (bound ? rule.bound_text() : "") +
         (rule.word().empty() ? "" : " or \"" + rule.word() + "\"");
}

void check_bound(double x, const TomlValue& value, const std::string& field, const Rule& rule) {
  if (!rule.low()) return;
  if (rule.low_open() ? x > *rule.low() : x >= *rule.low()) return;
  std::string bound = rule.bound_text();
  throw_bad_value(field, value, "must be" + bound);
}

// An integer, or a float with no fractional part when the rule allows it.
std::optional<int64_t> integer_of(const TomlValue& value, const Rule& rule) {
  if (const auto* i = value.as<int64_t>()) return *i;
  const auto* d = value.as<double>();
  if (d && rule.takes_integral_floats() && std::isfinite(*d) && *d == std::round(*d) &&
      std::abs(*d) < 9e15) {
    return static_cast<int64_t>(*d);
  }
  return std::nullopt;
}

}  // namespace

std::string Rule::bound_text() const {
  if (!low_) return "";
  return std::string(low_open_ ? " > " : " >= ") + detail::format_value(*low_) +
         (unit_.empty() ? "" : " " + unit_);
}

void throw_bad_value(const std::string& field, const TomlValue& value, const std::string& allowed) {
  throw InvalidArgument(field + " = " + value.text() + ": " + allowed);
}

template <>
bool ValueReader<bool>::read(const TomlValue& value, const std::string& field, const Rule&) {
  const auto* b = value.as<bool>();
  if (!b) throw_bad_value(field, value, "must be true or false");
  return *b;
}

template <>
int64_t ValueReader<int64_t>::read(const TomlValue& value, const std::string& field,
                                   const Rule& rule) {
  auto i = integer_of(value, rule);
  if (!i) throw_bad_value(field, value, must_be("an integer", rule));
  check_bound(static_cast<double>(*i), value, field, rule);
  return *i;
}

template <>
int ValueReader<int>::read(const TomlValue& value, const std::string& field, const Rule& rule) {
  auto i = integer_of(value, rule);
  if (!i || *i < INT32_MIN || *i > INT32_MAX) {
    throw_bad_value(field, value, must_be("an integer", rule));
  }
  check_bound(static_cast<double>(*i), value, field, rule);
  return static_cast<int>(*i);
}

template <>
uint64_t ValueReader<uint64_t>::read(const TomlValue& value, const std::string& field,
                                     const Rule& rule) {
  const Rule counting = rule.low() ? rule : rule.at_least(0);
  return static_cast<uint64_t>(ValueReader<int64_t>::read(value, field, counting));
}

template <>
double ValueReader<double>::read(const TomlValue& value, const std::string& field,
                                 const Rule& rule) {
  double x;
  if (const auto* d = value.as<double>()) {
    x = *d;
  } else if (const auto* i = value.as<int64_t>()) {
    x = static_cast<double>(*i);
  } else {
    throw_bad_value(field, value, must_be("a number", rule));
  }
  check_bound(x, value, field, rule);
  return x;
}

template <>
std::string ValueReader<std::string>::read(const TomlValue& value, const std::string& field,
                                           const Rule& rule) {
  const auto* s = value.as<std::string>();
  if (!s) throw_bad_value(field, value, must_be("a string", rule, false));
  return *s;
}

template <>
std::vector<int64_t> ValueReader<std::vector<int64_t>>::read(const TomlValue& value,
                                                             const std::string& field,
                                                             const Rule& rule) {
  const auto* list = value.as<TomlValue::Array>();
  if (!list) {
    if (auto i = integer_of(value, rule)) return {*i};  // a single number: a list of one
    throw_bad_value(field, value, "must be a list of integers");
  }
  std::vector<int64_t> out;
  for (const auto& item : *list) {
    auto i = integer_of(item, rule);
    if (!i) throw_bad_value(field, value, "must be a list of integers");
    out.push_back(*i);
  }
  return out;
}

template <>
std::vector<double> ValueReader<std::vector<double>>::read(const TomlValue& value,
                                                           const std::string& field, const Rule&) {
  auto number = [](const TomlValue& v) -> std::optional<double> {
    if (const auto* d = v.as<double>()) return *d;
    if (const auto* i = v.as<int64_t>()) return static_cast<double>(*i);
    return std::nullopt;
  };
  const auto* list = value.as<TomlValue::Array>();
  if (!list) {
    if (auto x = number(value)) return {*x};  // a single number: a list of one
    throw_bad_value(field, value, "must be a list of numbers");
  }
  std::vector<double> out;
  for (const auto& item : *list) {
    auto x = number(item);
    if (!x) throw_bad_value(field, value, "must be a list of numbers");
    out.push_back(*x);
  }
  return out;
}

template <>
std::vector<std::string> ValueReader<std::vector<std::string>>::read(const TomlValue& value,
                                                                     const std::string& field,
                                                                     const Rule&) {
  if (const auto* s = value.as<std::string>()) return {*s};  // a single string: a list of one
  const auto* list = value.as<TomlValue::Array>();
  if (!list) throw_bad_value(field, value, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *list) {
    const auto* s = item.as<std::string>();
    if (!s) throw_bad_value(field, value, "must be a list of strings");
    out.push_back(*s);
  }
  return out;
}

TomlValue to_toml(bool value) { return value; }
TomlValue to_toml(int value) { return int64_t{value}; }
TomlValue to_toml(int64_t value) { return value; }
TomlValue to_toml(uint64_t value) { return static_cast<int64_t>(value); }
TomlValue to_toml(double value) { return value; }
TomlValue to_toml(const std::string& value) { return value; }
TomlValue to_toml(const std::vector<int64_t>& values) {
  TomlValue::Array out;
  for (int64_t v : values) out.emplace_back(v);
  return out;
}
TomlValue to_toml(const std::vector<double>& values) {
  TomlValue::Array out;
  for (double v : values) out.emplace_back(v);
  return out;
}
TomlValue to_toml(const std::vector<std::string>& values) {
  TomlValue::Array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}
TomlValue to_toml(const std::optional<double>& value) { return value.value_or(NAN); }

namespace {

// Levenshtein distance with adjacent transpositions counted as one edit ("serach").
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& names,
                         const std::string& open, const std::string& close) {
  std::string nearest = nearest_name(name, names);
  return nearest.empty() ? "" : "did you mean " + open + nearest + close + "? ";
}

}  // namespace

std::string nearest_name(const std::string& name, const std::vector<std::string>& names) {
  if (name.size() > 64) return "";  // no misspelling is that long; keep the cost bounded
  const size_t limit = std::clamp<size_t>(name.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& candidate : names) {
    if (candidate.size() > 64) continue;
    size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

void check_table_names(const TomlValue& root, const std::vector<std::string>& tables,
                       const std::string& origin) {
  const auto* members = root.as<TomlValue::Table>();
  if (!members) return;
  for (const auto& [key, value] : *members) {
    if (std::find(tables.begin(), tables.end(), key) != tables.end()) continue;
    std::string listed;
    for (const auto& t : tables) listed += (listed.empty() ? "[" : ", [") + t + "]";
    const std::string what = value.is_table() ? "[" + key + "]" : key + " = " + value.text();
    throw InvalidArgument(what + " (in " + origin + "): is unknown; " +
                          did_you_mean(key, tables, "[", "]") + "a config file holds only the " +
                          "tables " + listed + (value.is_table() ? "" : ", and no top-level keys"));
  }
}

namespace detail {

void throw_unknown_key(const std::string& table, const std::string& key, const TomlValue* value,
                       const std::vector<std::string>& keys, KeyNames names) {
  std::string listed;
  for (const auto& k : keys) {
    listed += (listed.empty() ? "" : ", ") + (names == KeyNames::kDotted ? table + "." : "") + k;
  }
  const std::string field = table + "." + key;
  throw InvalidArgument((value ? field + " = " + value->text() : "config key = \"" + field + "\"") +
                        ": is unknown; " +
                        did_you_mean(key, keys, names == KeyNames::kDotted ? table + "." : "", "") +
                        table + " takes " + listed);
}

void throw_not_a_table(const std::string& table, const TomlValue& value,
                       const std::string& example) {
  throw_bad_value(table, value, "must be a table" + (example.empty() ? "" : " such as " + example));
}

}  // namespace detail
}  // namespace knob
