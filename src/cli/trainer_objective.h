// The built-in trainer as a tuning objective: each trial copies the base config, sets the
// searched keys from the trial's suggestions, trains, reports validation accuracy per epoch
// (so the pruner can stop it) and returns the final validation accuracy. A diverged run ends
// FAIL with where it diverged; a config the suggestions make invalid ends FAIL with the key.
#pragma once

#include <functional>
#include <vector>

#include "knob/tuner/study_config.h"
#include "knob/tuner/trial.h"

namespace knob {
struct TrainConfig;
}

namespace knob::cli {

// Trains through the trainer plugin (trainer_plugin.h), loaded on the first trial.
std::function<double(Trial&)> make_trainer_objective(const TrainConfig& base,
                                                     const std::vector<SearchParam>& space);

}  // namespace knob::cli
