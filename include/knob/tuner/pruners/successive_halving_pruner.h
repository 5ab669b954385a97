// SuccessiveHalvingPruner: asynchronous successive halving (ASHA), as Optuna's
// SuccessiveHalvingPruner. Rung r is reached at step min_resource * reduction_factor^(
// min_early_stopping_rate + r); a trial reaching it records its value there in the system
// attribute "completed_rung_<r>" (Optuna's name and JSON value, so Optuna and knob workers can
// share a study) and goes on only if that value is in the best 1/reduction_factor of the values
// recorded at the rung so far (the best one while fewer than reduction_factor are).
//
// Example:
//   auto pruner = std::make_shared<knob::SuccessiveHalvingPruner>(
//       knob::SuccessiveHalvingPrunerOptions().min_resource(1).reduction_factor(3));
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"

namespace knob {

struct SuccessiveHalvingPrunerOptions {
  // Steps before the first rung; unset is Optuna's "auto": the last step of the longest
  // completed trial / 100 (at least 1), fixed once a trial has completed (no pruning before).
  KNOB_ARG(std::optional<int64_t>, min_resource);
  // Each rung is this many times further and keeps 1/reduction_factor of the trials.
  KNOB_ARG(int64_t, reduction_factor) = 4;
  // Skips the first rungs: rung 0 is at min_resource * reduction_factor^this.
  KNOB_ARG(int64_t, min_early_stopping_rate) = 0;
  // A trial is pruned at a rung until this many trials (itself included) have reached it.
  KNOB_ARG(int64_t, bootstrap_count) = 0;
};

class SuccessiveHalvingPruner : public Pruner {
 public:
  // Throws InvalidArgument for min_resource < 1, reduction_factor < 2, a negative
  // min_early_stopping_rate or bootstrap_count, or bootstrap_count > 0 with "auto" min_resource.
  explicit SuccessiveHalvingPruner(SuccessiveHalvingPrunerOptions options = {});
  bool prune(Study& study, const FrozenTrial& trial) override;
  const SuccessiveHalvingPrunerOptions& options() const { return options_; }

  // "completed_rung_<rung>": the trial system attribute holding the trial's value at the rung.
  static std::string completed_rung_key(int64_t rung);

 private:
  friend class HyperbandPruner;
  // prune() among the trials `read_trials` returns (Hyperband: those of one bracket); they are
  // read only once the trial reaches a rung.
  bool prune_among(Study& study, const FrozenTrial& trial,
                   const std::function<std::vector<FrozenTrial>()>& read_trials);

  SuccessiveHalvingPrunerOptions options_;
  std::optional<int64_t> min_resource_;  // resolved
  // Rungs each trial has completed as far as this pruner knows: a lower bound (only the trial's
  // own worker records its rungs), so steps before the next rung cost no storage read.
  std::map<std::pair<const Storage*, int64_t>, int64_t> known_rungs_;  // by storage, trial id
};

}  // namespace knob
