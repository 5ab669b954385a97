// MedianPruner: stops a trial whose best intermediate value so far is worse than the median
// of the completed trials' values at the same step (Optuna's MedianPruner, same defaults): a
// PercentilePruner at 50.
//
// Example:
//   auto pruner = std::make_shared<knob::MedianPruner>(
//       knob::MedianPrunerOptions().n_startup_trials(5).n_warmup_steps(2));
#pragma once

#include "knob/core/arg.h"
#include "knob/tuner/pruners/percentile_pruner.h"

namespace knob {

// PercentilePrunerOptions without the percentile (see there).
struct MedianPrunerOptions {
  KNOB_ARG(int64_t, n_startup_trials) = 5;
  KNOB_ARG(int64_t, n_warmup_steps) = 0;
  KNOB_ARG(int64_t, interval_steps) = 1;
  KNOB_ARG(int64_t, n_min_trials) = 1;
};

class MedianPruner : public PercentilePruner {
 public:
  // Throws InvalidArgument for negative counts or interval_steps < 1.
  explicit MedianPruner(MedianPrunerOptions options = {})
      : PercentilePruner(PercentilePrunerOptions(50.0)
                             .n_startup_trials(options.n_startup_trials())
                             .n_warmup_steps(options.n_warmup_steps())
                             .interval_steps(options.interval_steps())
                             .n_min_trials(options.n_min_trials())) {}
};

}  // namespace knob
