// MedianPruner: stops a trial whose best intermediate value so far is worse than the median
// of the completed trials' values at the same step (Optuna's MedianPruner, same defaults).
//
// Example:
//   auto pruner = std::make_shared<knob::MedianPruner>(
//       knob::MedianPrunerOptions().n_startup_trials(5).n_warmup_steps(2));
#pragma once

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"

namespace knob {

struct MedianPrunerOptions {
  // No pruning until this many trials have completed.
  KNOB_ARG(int64_t, n_startup_trials) = 5;
  // No pruning before this step of a trial.
  KNOB_ARG(int64_t, n_warmup_steps) = 0;
  // Prune only every this many steps after the warm-up.
  KNOB_ARG(int64_t, interval_steps) = 1;
  // Need at least this many completed trials that reported the step.
  KNOB_ARG(int64_t, n_min_trials) = 1;
};

class MedianPruner : public Pruner {
 public:
  // Throws InvalidArgument for negative counts or interval_steps < 1.
  explicit MedianPruner(MedianPrunerOptions options = {});
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  MedianPrunerOptions options_;
};

// numpy.percentile with linear interpolation (q in [0, 100]); `values` must be non-empty.
double percentile(std::vector<double> values, double q);

}  // namespace knob
