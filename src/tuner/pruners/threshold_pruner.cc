#include "knob/tuner/pruners/threshold_pruner.h"

#include <cmath>
#include <string>

#include "knob/core/error.h"
#include "tuner/pruners/pruning_interval.h"

namespace knob {

ThresholdPruner::ThresholdPruner(ThresholdPrunerOptions options) : options_(options) {
  const auto& lower = options_.lower();
  const auto& upper = options_.upper();
  KNOB_CHECK(lower || upper, "lower", std::string("(unset)"),
             "set lower, upper or both (upper is unset too)");
  KNOB_CHECK(!lower || !std::isnan(*lower), "lower", *lower, "must be a number or unset");
  KNOB_CHECK(!upper || !std::isnan(*upper), "upper", *upper, "must be a number or unset");
  if (lower && upper) {
    KNOB_CHECK(*lower <= *upper, "lower", *lower,
               "must be <= upper (" + detail::format_value(*upper) + ")");
  }
  KNOB_CHECK(options_.n_warmup_steps() >= 0, "n_warmup_steps", options_.n_warmup_steps(),
             "must be >= 0");
  KNOB_CHECK(options_.interval_steps() >= 1, "interval_steps", options_.interval_steps(),
             "must be >= 1");
}

bool ThresholdPruner::prune(Study&, const FrozenTrial& trial) {
  auto last = trial.last_step();
  if (!last) return false;
  const auto [step, value] = *last;
  if (!detail::is_judged_step(trial.intermediate_values, step, options_.n_warmup_steps(),
                              options_.interval_steps()))
    return false;
  if (std::isnan(value)) return true;
  return (options_.lower() && value < *options_.lower()) ||
         (options_.upper() && value > *options_.upper());
}

}  // namespace knob
