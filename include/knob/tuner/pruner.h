// Pruner: decides, from the intermediate values a trial has reported, whether to stop it
// early (Optuna's BasePruner). Called under the study's lock; need not be thread-safe.
#pragma once

#include "knob/storage/frozen_trial.h"

namespace knob {

class Storage;
class Study;

class Pruner {
 public:
  virtual ~Pruner() = default;
  // True to stop `trial` now. `trial` holds its intermediate values up to the last report.
  virtual bool prune(Study& study, const FrozenTrial& trial) = 0;
};

// Never prunes.
class NopPruner : public Pruner {
 public:
  bool prune(Study&, const FrozenTrial&) override { return false; }
};

}  // namespace knob
