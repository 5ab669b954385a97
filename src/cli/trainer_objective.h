// The built-in trainer as a tuning objective: each trial copies the base config, sets the
// searched keys from the trial's suggestions, trains, reports validation accuracy per epoch
// (so the pruner can stop it) and returns the final validation accuracy. A diverged run ends
// FAIL with where it diverged; a config the suggestions make invalid ends FAIL with the key.
// With a TensorBoard directory DIR, trial N writes its event files to DIR/trial-N (the tags of
// `knob train --tensorboard`: knob/train/metric_scalars.h), one run per trial as in Ray Tune.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "knob/run/study_config.h"
#include "knob/tuner/trial.h"

namespace knob {
struct TrainConfig;
}

namespace knob::cli {

// Trains through the trainer plugin (trainer_plugin.h), loaded on the first trial. Throws
// InvalidArgument when `tensorboard` (if not empty) cannot be created as a directory.
std::function<double(Trial&)> make_trainer_objective(const TrainConfig& base,
                                                     const std::vector<SearchParam>& space,
                                                     const std::string& tensorboard = "");

// Creates `dir` (and its parents) unless empty; InvalidArgument naming --tensorboard if it can't.
void check_tensorboard_dir(const std::string& dir);

}  // namespace knob::cli
