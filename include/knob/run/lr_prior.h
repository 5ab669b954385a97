// The learning-rate range test as a study's prior. With optimizer.lr = "find", the range test
// runs once per optimizer kind in a study, not once per trial: the first trial of a kind runs
// it and the study keeps the suggestion as the user attribute "knob:lr_prior:<kind>"
// ({"lr", "batch_size", "trial"}, plain JSON that Optuna and the dashboard show); every later
// trial of that kind, on any worker and after a resume, trains with it. Searching
// lr_find.factor then tunes the learning rate relative to the range test, so one search range
// fits every optimizer kind (docs/lr_prior.md). The key is the optimizer kind alone: on the seed
// MLP the suggestion moved 35x between kinds but at most 2.5x between batch sizes 32 and 512.
//
// Example:
//   // in a trial, after the searched keys are set:
//   knob::run::apply_lr_prior(trial.study(), config, trial.number(), knob::find_lr_with_plugin);
//   // config.lr_find.known now holds the kind's suggestion
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "knob/train/config.h"
#include "knob/train/lr_range.h"
#include "knob/tuner/study.h"

namespace knob::run {

// "knob:lr_prior:<optimizer.kind>".
std::string lr_prior_key(const TrainConfig& config);

// With optimizer.lr = "find" and no known suggestion: sets config.lr_find.known from the study's
// prior for the config's optimizer kind, or runs `find_lr` on `config` and keeps its suggestion
// as that prior. A stored prior that is not a positive finite "lr" (another program's write) is
// measured again and replaced. A range test that diverges before it can suggest throws
// TrainingDiverged (the trial fails as a trainer's would). Returns true when `find_lr` ran.
bool apply_lr_prior(Study& study, TrainConfig& config, int64_t trial_number,
                    const std::function<LrFindResult(const TrainConfig&)>& find_lr);

}  // namespace knob::run
