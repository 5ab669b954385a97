// ThresholdPruner: stops a trial whose last intermediate value leaves [lower, upper] or is NaN
// (Optuna's ThresholdPruner, same defaults) — e.g. a loss that diverged.
//
// Example:
//   auto pruner = std::make_shared<knob::ThresholdPruner>(
//       knob::ThresholdPrunerOptions().upper(10.0).n_warmup_steps(1));
#pragma once

#include <optional>

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"

namespace knob {

struct ThresholdPrunerOptions {
  // Prune below `lower` or above `upper`; at least one must be set.
  KNOB_ARG(std::optional<double>, lower);
  KNOB_ARG(std::optional<double>, upper);
  // No pruning before this step of a trial.
  KNOB_ARG(int64_t, n_warmup_steps) = 0;
  // Prune only every this many steps after the warm-up.
  KNOB_ARG(int64_t, interval_steps) = 1;
};

class ThresholdPruner : public Pruner {
 public:
  // Throws InvalidArgument when neither bound is set, a bound is NaN, lower > upper,
  // n_warmup_steps < 0 or interval_steps < 1.
  explicit ThresholdPruner(ThresholdPrunerOptions options);
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  ThresholdPrunerOptions options_;
};

}  // namespace knob
