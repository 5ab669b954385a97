// Pruner: decides, from the intermediate values a trial has reported, whether to stop it
// early (Optuna's BasePruner). Called under the study's lock; need not be thread-safe.
//
// Example (stop a trial whose loss went above 10 after its 3rd report):
//   class LossCeiling : public knob::Pruner {
//    public:
//     bool prune(knob::Study&, const knob::FrozenTrial& trial) override {
//       auto last = trial.last_step();  // (step, value) of the latest report
//       return trial.intermediate_values.size() >= 3 && last && last->second > 10;
//     }
//   };
//   auto study = knob::create_study(knob::StudyOptions().pruner(std::make_shared<LossCeiling>()));
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
