// Errors thrown by knob's C++ API: a small typed hierarchy.
//
// `InvalidArgument` is for bad user input (a config field, a flag, a distribution) and its
// message always names the field, the bad value and what is allowed; the CLI maps it to exit
// code 2. Internal invariants use assert(), never these: user input never reaches an assert.
//
// Example:
//   KNOB_CHECK(low <= high, "low", low, "must be <= high (" + std::to_string(high) + ")");
#pragma once

#include <charconv>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace knob {

// Base of every error knob throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user: message is "<field> = <value>: <what is allowed>".
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A named thing (study, trial, parameter) does not exist.
class NotFound : public Error {
 public:
  using Error::Error;
};

// Creating something whose name is taken (a study name, for instance).
class AlreadyExists : public Error {
 public:
  using Error::Error;
};

// The storage backend failed (I/O, a corrupt or foreign database, a lost connection).
class StorageError : public Error {
 public:
  using Error::Error;
};

// Training stopped on a NaN/Inf or exploding loss: an outcome, not bad input (CLI exit 1).
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

// Thrown inside an objective to end the trial as PRUNED (like optuna.TrialPruned).
class TrialPruned : public Error {
 public:
  TrialPruned() : Error("trial pruned") {}
  using Error::Error;
};

// Thrown by Trial::report / should_prune once the study is interrupted (Study::interrupt,
// Ctrl-C in `knob tune`): the trial ends FAIL with the message as its reason, and
// `knob tune --resume` runs its parameters again.
class TrialInterrupted : public Error {
 public:
  TrialInterrupted() : Error("interrupted") {}
  using Error::Error;
};

namespace detail {

template <typename T>
std::string format_value(const T& value) {
  std::ostringstream out;
  if constexpr (std::is_convertible_v<T, std::string>) {
    out << '"' << std::string(value) << '"';
  } else if constexpr (std::is_same_v<T, bool>) {
    out << (value ? "true" : "false");
  } else if constexpr (std::is_floating_point_v<T>) {
    char text[32];  // the shortest text that reads back as the same number: 0.1, not 0.1000...01
    auto end = std::to_chars(text, text + sizeof text, static_cast<double>(value)).ptr;
    out << std::string_view(text, static_cast<size_t>(end - text));
  } else {
    out << value;
  }
  return out.str();
}

// Builds the standard bad-input message: "field = value: allowed".
template <typename T>
std::string invalid_message(const std::string& field, const T& value, const std::string& allowed) {
  return field + " = " + format_value(value) + ": " + allowed;
}

}  // namespace detail

// Throws InvalidArgument naming the field, the value and what is allowed.
template <typename T>
[[noreturn]] void throw_invalid(const std::string& field, const T& value,
                                const std::string& allowed) {
  throw InvalidArgument(detail::invalid_message(field, value, allowed));
}

}  // namespace knob

// Checks user input; on failure throws knob::InvalidArgument("field = value: allowed").
#define KNOB_CHECK(cond, field, value, allowed)                      \
  do {                                                               \
    if (!(cond)) ::knob::throw_invalid((field), (value), (allowed)); \
  } while (false)
