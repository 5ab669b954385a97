// Search-space distributions with Optuna's semantics, validation and JSON.
//
// A parameter is suggested from one of three distributions. Each has an *internal*
// representation (a double: the value itself for floats and ints, the index of the choice
// for categoricals) — that is what storage keeps in `trial_params.param_value` and what
// samplers work in — and an *external* one (the ParamValue the objective sees).
//
// Example:
//   knob::FloatDistribution lr(1e-4, 1e-1, /*log=*/true);
//   std::string json = knob::distribution_to_json(lr);
//   // {"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0001, "high": 0.1, "log": true}}
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "knob/core/param_value.h"

namespace knob {

// Uniform (or log-uniform) floats in [low, high], optionally on a grid low + k*step.
// With a step, high is rounded down onto the grid, as Optuna does.
struct FloatDistribution {
  double low;
  double high;
  bool log = false;
  std::optional<double> step;

  // Throws InvalidArgument if low > high, log with low <= 0, step <= 0 or step with log.
  FloatDistribution(double low, double high, bool log = false, std::optional<double> step = {});
  bool operator==(const FloatDistribution&) const = default;
};

// Integers in [low, high] on the grid low + k*step (step >= 1), or log-uniform (step 1).
struct IntDistribution {
  int64_t low;
  int64_t high;
  bool log = false;
  int64_t step = 1;

  // Throws InvalidArgument if low > high, log with low < 1, step < 1 or step != 1 with log.
  IntDistribution(int64_t low, int64_t high, bool log = false, int64_t step = 1);
  bool operator==(const IntDistribution&) const = default;
};

// One of a fixed list of choices (None, bools, ints, floats or strings).
struct CategoricalDistribution {
  std::vector<ParamValue> choices;

  // Throws InvalidArgument if choices is empty.
  explicit CategoricalDistribution(std::vector<ParamValue> choices);
  bool operator==(const CategoricalDistribution&) const = default;
  // Index of `value` among the choices (numbers compare as Python compares them), or -1.
  int64_t index_of(const ParamValue& value) const;
};

using Distribution = std::variant<FloatDistribution, IntDistribution, CategoricalDistribution>;

// Optuna's class name: "FloatDistribution", "IntDistribution" or "CategoricalDistribution".
std::string distribution_name(const Distribution& distribution);

// External -> internal. Throws InvalidArgument naming `field` if the value has the wrong type
// or is not one of the categorical choices.
double to_internal(const Distribution& distribution, const ParamValue& value,
                   const std::string& field = "value");
// Internal -> external (an int64_t for IntDistribution, the choice for categoricals).
ParamValue to_external(const Distribution& distribution, double internal);
// Whether an internal value lies in the distribution (in range and on the step grid).
bool contains(const Distribution& distribution, double internal);
// Whether the distribution has exactly one possible value.
bool is_single(const Distribution& distribution);

// Optuna's distribution_to_json text, byte for byte.
std::string distribution_to_json(const Distribution& distribution);
// Optuna's json_to_distribution, including the pre-3.0 names (UniformDistribution,
// LogUniformDistribution, DiscreteUniformDistribution, IntUniformDistribution,
// IntLogUniformDistribution). Throws InvalidArgument naming `field` on anything else.
Distribution json_to_distribution(const std::string& json, const std::string& field = "distribution");

// Optuna's rule for reusing a parameter name: same kind, same log flag, same categorical
// choices (ranges may change). Throws InvalidArgument naming the parameter otherwise.
void check_compatible(const std::string& param_name, const Distribution& existing,
                      const Distribution& requested);

}  // namespace knob
