// PercentilePruner: stops a trial whose best intermediate value so far is worse than the given
// percentile of the completed trials' values at the same step (Optuna's PercentilePruner, same
// defaults). The completed trials' values are cached per step (finished trials never change),
// so a call reads only the storage's count of completed trials unless a trial finished since.
//
// Example:
//   auto pruner = std::make_shared<knob::PercentilePruner>(
//       knob::PercentilePrunerOptions(25.0).n_startup_trials(5).n_warmup_steps(30));
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"
#include "knob/tuner/pruners/new_completed_trials.h"

namespace knob {

struct PercentilePrunerOptions {
  explicit PercentilePrunerOptions(double percentile) : percentile_(percentile) {}
  // In [0, 100]: 25 keeps the trials in the best quarter at each step.
  KNOB_ARG(double, percentile);
  // No pruning until this many trials have completed.
  KNOB_ARG(int64_t, n_startup_trials) = 5;
  // No pruning before this step of a trial.
  KNOB_ARG(int64_t, n_warmup_steps) = 0;
  // Prune only every this many steps after the warm-up.
  KNOB_ARG(int64_t, interval_steps) = 1;
  // Need at least this many completed trials that reported the step.
  KNOB_ARG(int64_t, n_min_trials) = 1;
};

class PercentilePruner : public Pruner {
 public:
  // Throws InvalidArgument for a percentile outside [0, 100], negative counts or
  // interval_steps < 1.
  explicit PercentilePruner(PercentilePrunerOptions options);
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  // The completed trials' intermediate values, by step.
  struct StepValues {
    int64_t reported = 0;        // completed trials that reported the step (NaN included)
    std::vector<double> sorted;  // their values but NaN, ascending
  };
  void refresh(Study& study);

  PercentilePrunerOptions options_;
  detail::NewCompletedTrials completed_;
  std::map<int64_t, StepValues> steps_;
};

// numpy.percentile with linear interpolation (q in [0, 100]); `values` must be non-empty.
double percentile(std::vector<double> values, double q);

namespace detail {
// percentile() of values already sorted ascending.
double sorted_percentile(const std::vector<double>& sorted, double q);
}  // namespace detail

}  // namespace knob
