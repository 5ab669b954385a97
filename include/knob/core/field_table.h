// FieldTable: the one generic reader of config tables. A table of fields — each a key, a type
// (the type of the member or setter it writes), a rule (a range, a word also taken) and a
// setter — reads one TOML table into an options object. Every value goes through one
// conversion (read_value) and every error has one shape: "<table>.<key> = <value as written>:
// <what is allowed>"; unknown keys are reported with the keys the table takes.
//
// Example:
//   knob::FieldTable<knob::TpeOptions> tpe("study.tpe", "{ multivariate = true }");
//   tpe.add("n_startup_trials", &knob::TpeOptions::n_startup_trials)
//       .add("multivariate", &knob::TpeOptions::multivariate);
//   knob::TpeOptions options;
//   tpe.read(knob::parse_toml("multivariate = true", "t.toml"), options);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "knob/core/error.h"
#include "knob/core/toml_value.h"

namespace knob {

// What a field takes beyond its type. Chainable: Rule().at_least(1).or_word("auto").
class Rule {
 public:
  Rule at_least(double low) const { return bounded(low, false); }  // ">= low"
  Rule above(double low) const { return bounded(low, true); }      // "> low"
  // A unit named after the bound in messages: "must be > 0 seconds".
  Rule unit(std::string unit) const {
    Rule r = *this;
    r.unit_ = std::move(unit);
    return r;
  }
  // A word the key also takes; for a std::optional field it means "unset" ("auto").
  Rule or_word(std::string word) const {
    Rule r = *this;
    r.word_ = std::move(word);
    return r;
  }
  // Integer fields also take floats with no fractional part (4.0 reads as 4).
  Rule integral_floats() const {
    Rule r = *this;
    r.integral_floats_ = true;
    return r;
  }

  const std::optional<double>& low() const { return low_; }
  bool low_open() const { return low_open_; }
  const std::string& word() const { return word_; }
  bool takes_integral_floats() const { return integral_floats_; }
  // " >= 1", " > 0 seconds", or "" without a bound.
  std::string bound_text() const;

 private:
  Rule bounded(double low, bool open) const {
    Rule r = *this;
    r.low_ = low;
    r.low_open_ = open;
    return r;
  }

  std::optional<double> low_;
  bool low_open_ = false;
  std::string unit_;
  std::string word_;
  bool integral_floats_ = false;
};

// Throws InvalidArgument "<field> = <value as written>: <allowed>".
[[noreturn]] void throw_bad_value(const std::string& field, const TomlValue& value,
                                  const std::string& allowed);

// Reads `value` as a T under `rule`, naming `field` in errors. T is bool, int, int64_t,
// uint64_t, double, std::string, std::vector<int64_t>, std::vector<double>,
// std::vector<std::string> (a single value reads as a list of one), or std::optional of one of
// them.
template <typename T>
struct ValueReader {
  static T read(const TomlValue& value, const std::string& field, const Rule& rule);
};

// A field that keeps the value as written (its reader checks it later).
template <>
struct ValueReader<TomlValue> {
  static TomlValue read(const TomlValue& value, const std::string&, const Rule&) { return value; }
};

// The conversions, defined once in field_table.cc.
#define KNOB_VALUE_READER(T) \
  template <>                \
  T ValueReader<T>::read(const TomlValue& value, const std::string& field, const Rule& rule)
KNOB_VALUE_READER(bool);
KNOB_VALUE_READER(int);
KNOB_VALUE_READER(int64_t);
KNOB_VALUE_READER(uint64_t);
KNOB_VALUE_READER(double);
KNOB_VALUE_READER(std::string);
KNOB_VALUE_READER(std::vector<int64_t>);
KNOB_VALUE_READER(std::vector<double>);
KNOB_VALUE_READER(std::vector<std::string>);
#undef KNOB_VALUE_READER

template <typename T>
struct ValueReader<std::optional<T>> {
  static std::optional<T> read(const TomlValue& value, const std::string& field, const Rule& rule) {
    const auto* word = value.as<std::string>();
    if (word && !rule.word().empty() && *word == rule.word()) return std::nullopt;
    return ValueReader<T>::read(value, field, rule);
  }
};

template <typename T>
T read_value(const TomlValue& value, const std::string& field, const Rule& rule = {}) {
  return ValueReader<T>::read(value, field, rule);
}

// A field's value as TOML holds it (an unset optional number reads as NaN).
TomlValue to_toml(bool value);
TomlValue to_toml(int value);
TomlValue to_toml(int64_t value);
TomlValue to_toml(uint64_t value);
TomlValue to_toml(double value);
TomlValue to_toml(const std::string& value);
TomlValue to_toml(const std::vector<int64_t>& values);
TomlValue to_toml(const std::vector<double>& values);
TomlValue to_toml(const std::vector<std::string>& values);
TomlValue to_toml(const std::optional<double>& value);

// How unknown-key messages list the keys: "kind, lr" or, for tables whose keys are also
// written dotted elsewhere (the trainer's "optimizer.lr"), "optimizer.kind, optimizer.lr".
enum class KeyNames { kShort, kDotted };

namespace detail {
// "<table>.<key> = <value>: is unknown; <table> takes <keys>".
[[noreturn]] void throw_unknown_key(const std::string& table, const std::string& key,
                                    const TomlValue* value, const std::vector<std::string>& keys,
                                    KeyNames names);
// "<table> = <value>: must be a table such as <example>".
[[noreturn]] void throw_not_a_table(const std::string& table, const TomlValue& value,
                                    const std::string& example);
}  // namespace detail

// The name in `names` nearest to `name` by edit distance, if it is close enough to be a
// misspelling (at most a third of the letters differ, at least 1, at most 3); else "".
std::string nearest_name(const std::string& name, const std::vector<std::string>& names);

// Refuses a config file whose top level holds anything but the tables `tables` (the tables
// every reader of the file takes together): throws InvalidArgument naming the key, `origin`,
// the nearest allowed table ("did you mean [search]?") and the tables allowed.
void check_table_names(const TomlValue& root, const std::vector<std::string>& tables,
                       const std::string& origin);

// Runs `body`; an InvalidArgument it throws gains " (in [table] of origin)", or " (in origin)"
// when `table` is empty.
template <typename Body>
decltype(auto) naming_origin(const std::string& origin, const std::string& table, Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string(e.what()) + " (in " +
                          (table.empty() ? "" : "[" + table + "] of ") + origin + ")");
  }
}

template <typename Target>
class FieldTable {
 public:
  // Sets a field from a value; `field` is its dotted name for messages.
  using Setter = std::function<void(Target&, const TomlValue& value, const std::string& field)>;
  using Getter = std::function<TomlValue(const Target&)>;

  // `name` is the table's dotted name ("study.tpe"); `example` shows a valid table.
  explicit FieldTable(std::string name, std::string example = {}, KeyNames names = KeyNames::kShort)
      : name_(std::move(name)), example_(std::move(example)), names_(names) {}

  // A field reached by a data member (&Options::x) or a function returning a reference to it
  // ([](auto& c) -> auto& { return c.optimizer.lr; }); its type says what the key takes.
  template <typename Access>
  requires std::is_invocable_v<Access, Target&> FieldTable& add(std::string key, Access access,
                                                                Rule rule = {}) {
    using T = std::remove_cvref_t<std::invoke_result_t<Access, Target&>>;
    Setter set = [access, rule](Target& t, const TomlValue& v, const std::string& field) {
      std::invoke(access, t) = read_value<T>(v, field, rule);
    };
    Getter get;
    if constexpr (requires(const T& x) { to_toml(x); }) {
      get = [access](const Target& t) { return to_toml(std::invoke(access, t)); };
    }
    return add_custom(std::move(key), std::move(set), std::move(get));
  }
  // A field written by a chainable setter (KNOB_ARG: &TpeOptions::n_startup_trials).
  template <typename R, typename T>
  FieldTable& add(std::string key, R& (Target::*setter)(const T&), Rule rule = {}) {
    return add_custom(std::move(key),
                      [setter, rule](Target& t, const TomlValue& v, const std::string& field) {
                        (t.*setter)(read_value<T>(v, field, rule));
                      });
  }
  // Anything else: the setter sees the value as written.
  FieldTable& add_custom(std::string key, Setter set, Getter get = {}) {
    fields_.push_back({std::move(key), std::move(set), std::move(get)});
    return *this;
  }

  const std::string& name() const { return name_; }
  std::string field(const std::string& key) const { return name_ + "." + key; }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& f : fields_) out.push_back(f.key);
    return out;
  }
  bool contains(const std::string& key) const { return find(key) != nullptr; }

  // Sets one key; throws InvalidArgument for an unknown key, a wrong type or a value out of
  // range.
  void set(Target& target, const std::string& key, const TomlValue& value) const {
    const Field* f = find(key);
    if (!f) detail::throw_unknown_key(name_, key, &value, keys(), names_);
    f->set(target, value, field(key));
  }
  // The current value of a key (fields added with a member or a reference only).
  TomlValue get(const Target& target, const std::string& key) const {
    const Field* f = find(key);
    if (!f || !f->get) detail::throw_unknown_key(name_, key, nullptr, keys(), names_);
    return f->get(target);
  }
  // Reads every key of `table` (which must be a table) into `target`.
  void read(const TomlValue& table, Target& target) const {
    const TomlValue::Table* members = table.as<TomlValue::Table>();
    if (!members) detail::throw_not_a_table(name_, table, example_);
    for (const auto& [key, value] : *members) set(target, key, value);
  }

 private:
  struct Field {
    std::string key;
    Setter set;
    Getter get;
  };
  const Field* find(const std::string& key) const {
    for (const auto& f : fields_) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }

  std::string name_;
  std::string example_;
  KeyNames names_;
  std::vector<Field> fields_;
};

}  // namespace knob
