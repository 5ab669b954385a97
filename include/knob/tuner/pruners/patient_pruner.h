// PatientPruner: tolerates a trial that has not improved for `patience` steps; after that it
// prunes (or, when it wraps another pruner, asks that one) — Optuna's PatientPruner. "Improved"
// follows the study's direction: the best of the last patience + 1 values beats the best before
// them by more than min_delta.
//
// Example:
//   auto pruner = std::make_shared<knob::PatientPruner>(
//       std::make_shared<knob::MedianPruner>(), knob::PatientPrunerOptions(3).min_delta(1e-3));
#pragma once

#include <memory>

#include "knob/core/arg.h"
#include "knob/tuner/pruner.h"

namespace knob {

struct PatientPrunerOptions {
  explicit PatientPrunerOptions(int64_t patience) : patience_(patience) {}
  // Steps without improvement tolerated (Optuna has no default either).
  KNOB_ARG(int64_t, patience);
  // An improvement smaller than this does not count.
  KNOB_ARG(double, min_delta) = 0.0;
};

class PatientPruner : public Pruner {
 public:
  // `wrapped` may be null: then a trial out of patience is pruned. Throws InvalidArgument for
  // patience < 0 or a min_delta that is negative or NaN.
  PatientPruner(std::shared_ptr<Pruner> wrapped, PatientPrunerOptions options);
  bool prune(Study& study, const FrozenTrial& trial) override;

 private:
  std::shared_ptr<Pruner> wrapped_;
  PatientPrunerOptions options_;
};

}  // namespace knob
