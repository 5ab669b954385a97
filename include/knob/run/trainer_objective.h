// The built-in trainer as a tuning objective, in process or isolated. Each trial copies the
// base config, sets the searched keys from the trial's suggestions, trains through the trainer
// plugin (knob/train/trainer_plugin.h, loaded on the first trial), reports validation accuracy
// per epoch (so the pruner can stop it) and returns the final validation accuracy. A diverged
// run ends FAIL with where it diverged; a config the suggestions make invalid ends FAIL with the
// key. With a TensorBoard directory DIR, trial N writes its event files to DIR/trial-N (the tags
// of `knob train --tensorboard`: knob/train/metric_scalars.h), one run per trial as in Ray Tune.
//
// Isolated, each trial is a child `knob train CONFIG --set ... --quiet --protocol` run as a
// command objective (command_objective.h): a crash or an out-of-memory kill fails one trial.
// run_train_protocol() is that child's side.
//
// Example:
//   knob::TrainConfig base = knob::load_train_config("fmnist.toml");
//   auto objective = knob::run::make_trainer_objective(base, study_config.search);
//   study.optimize(objective, knob::OptimizeOptions().n_trials(20));
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/json.h"
#include "knob/core/param_value.h"
#include "knob/run/command_objective.h"
#include "knob/train/train_result.h"
#include "knob/tuner/search_space.h"
#include "knob/tuner/trial.h"

namespace knob {
struct TrainConfig;
}

namespace knob::run {

// In process: trains through the trainer plugin. Throws InvalidArgument when `tensorboard` (if
// not empty) cannot be created as a directory.
std::function<double(Trial&)> make_trainer_objective(const TrainConfig& base,
                                                     const std::vector<SearchParam>& space,
                                                     const std::string& tensorboard = "");

// Creates `dir` (and its parents) unless empty; InvalidArgument naming --tensorboard if it can't.
void check_tensorboard_dir(const std::string& dir);

// DIR/trial-<number>: a trial's event files under `knob tune --tensorboard DIR` ("" for "").
std::string trial_log_dir(const std::string& dir, int64_t number);

// A trial's "history" user attribute: per-epoch metrics, one list each (val_accuracy,
// val_loss, train_loss, lr, batch_size, seconds), empty before the first epoch.
Json empty_history();
// Appends one epoch's metrics to `history`.
void record_epoch(Json& history, const EpochMetrics& metrics);

// A parameter value as TOML text, so `knob train --set key=TEXT` reads back exactly the value
// the trial suggested: floats as Python writes them (shortest text that round-trips), strings
// quoted and escaped. A missing value (None) is an InvalidArgument naming search.NAME.
std::string toml_text(const std::string& name, const ParamValue& value);

struct IsolatedTrainerOptions {
  // The knob executable that runs `train ... --protocol` (in knob itself: this very binary).
  KNOB_ARG(std::string, executable) = "/proc/self/exe";
  // The study file the child trains from, and --set overrides applied after it.
  KNOB_ARG(std::string, config);
  KNOB_ARG(std::vector<std::string>, overrides);
  // train.threads for each child (unset: the config's).
  KNOB_ARG(std::optional<int64_t>, threads);
  // The children's TensorBoard directory: trial N writes DIR/trial-N.
  KNOB_ARG(std::string, tensorboard);
  // $KNOB_STORAGE for the children (the study's storage URL).
  KNOB_ARG(std::string, storage_url);
};

// Isolated: each trial runs `EXECUTABLE train CONFIG --set ... --quiet --protocol`, the
// searched keys set from the trial's suggestions (toml_text), and reads its protocol.
CommandObjective make_isolated_trainer_objective(const std::vector<SearchParam>& space,
                                                 const IsolatedTrainerOptions& options);

// The child side, `knob train --protocol`: a trial of `knob tune --isolate`. Writes to stdout
// what the in-process objective stores — the history after every epoch (so a pruned trial keeps
// it), the stop reason and test accuracy — then the value; a diverged run throws
// TrainingDiverged with the reason. With `tensorboard`, the event files go to
// tensorboard/trial-$KNOB_TRIAL_NUMBER when the tuner set that variable (as in-process trials
// do), else to tensorboard. The process is killed when its parent dies.
void run_train_protocol(const TrainConfig& config, const std::string& tensorboard);

}  // namespace knob::run
