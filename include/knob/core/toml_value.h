// TomlValue: a TOML document read into plain C++ values (bool, integer, float, string, list,
// table), so the readers of config files never see the TOML library: toml++ stays private to
// core. Tables keep their keys in toml++'s order (sorted). `text()` writes a value back as it
// reads in a file, for error messages ("yes" with its quotes, [1, 2], { a = 1 }).
//
// Example:
//   knob::TomlValue root = knob::parse_toml("[study]\nn_trials = 20\n", "s.toml");
//   const knob::TomlValue* n = root.get("study") ? root.get("study")->get("n_trials") : nullptr;
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace knob {

class TomlValue {
 public:
  using Array = std::vector<TomlValue>;
  using Table = std::vector<std::pair<std::string, TomlValue>>;
  using Data = std::variant<bool, int64_t, double, std::string, Array, Table>;

  TomlValue() : data_(Table{}) {}
  TomlValue(bool v) : data_(v) {}  // NOLINT: values convert implicitly
  TomlValue(int64_t v) : data_(v) {}
  TomlValue(double v) : data_(v) {}
  TomlValue(std::string v) : data_(std::move(v)) {}
  TomlValue(const char* v) : data_(std::string(v)) {}
  TomlValue(Array v) : data_(std::move(v)) {}
  TomlValue(Table v) : data_(std::move(v)) {}

  const Data& data() const { return data_; }
  // The value as a T, or nullptr when it holds another type (no conversions).
  template <typename T>
  const T* as() const {
    return std::get_if<T>(&data_);
  }
  bool is_table() const { return as<Table>() != nullptr; }
  // A table's member, or nullptr when this is no table or has no such key.
  const TomlValue* get(const std::string& key) const;
  // The value as TOML writes it: true, 3, 0.5, "text", [1, 2], { a = 1 }.
  std::string text() const;

  friend bool operator==(const TomlValue& a, const TomlValue& b) { return a.data_ == b.data_; }

 private:
  Data data_;
};

// Parses TOML text; throws InvalidArgument "<origin>:<line>:<column>: not valid TOML: ...".
TomlValue parse_toml(const std::string& text, const std::string& origin);

}  // namespace knob
