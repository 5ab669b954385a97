// The built-in trainer as a tuning objective, in process or isolated. Each trial copies the
// base config, sets the searched keys from the trial's suggestions, trains through the trainer
// plugin (knob/train/trainer_plugin.h, loaded on the first trial) and returns its objectives,
// trainer metrics (trainer_metrics.h: val_accuracy by default; one per direction), all of them
// kept in the "metrics" user attribute. A single per-epoch objective (val_accuracy, val_loss)
// is reported after every epoch so the pruner can stop the trial; several objectives are not
// reported (Optuna refuses reports in multi-objective studies), so nothing prunes. A diverged
// run ends PRUNED — samplers leave FAIL trials out of their model, PRUNED ones count as worse
// than every complete trial — with where it diverged in the system attribute
// kPruneReasonAttr; a config the suggestions make invalid ends FAIL with the key. With a
// TensorBoard directory DIR, trial N writes its event files to DIR/trial-N (the tags of `knob train
// --tensorboard`: knob/train/metric_scalars.h), one run per trial as in Ray Tune.
//
// Isolated, each trial is a child `knob train CONFIG --set ... --quiet --protocol` run as a
// command objective (command_objective.h): a crash or an out-of-memory kill fails one trial.
// run_train_protocol() is that child's side.
//
// Example:
//   knob::TrainConfig base = knob::load_train_config("fmnist.toml");
//   auto objective = knob::run::make_trainer_objective(base, study_config.search, "",
//                                                      {"val_accuracy", "train_seconds"});
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
#include "knob/run/trainer_metrics.h"
#include "knob/run/trial_files.h"
#include "knob/train/train_result.h"
#include "knob/tuner/search_space.h"
#include "knob/tuner/trial.h"

namespace knob {
struct TrainConfig;
}

namespace knob::run {

// The user attribute holding every trainer metric of a finished trial ({"val_accuracy": ...}).
inline constexpr const char* kMetricsAttr = "metrics";
// The user attribute holding the epochs a full run of the trial reports (train.epochs), set
// before its first report: CurvePruner's last step (curve_pruner.h).
inline constexpr const char* kMaxResourceAttr = "max_resource";
// The environment variable that tells a `knob train --protocol` child its objectives.
inline constexpr const char* kObjectivesEnv = "KNOB_OBJECTIVES";
// ... and [study] keep_models (the child then keeps its checkpoint and model in the study's
// folder: trial_files.h; the parent adopts a retry's checkpoint before starting it).
inline constexpr const char* kKeepModelsEnv = "KNOB_KEEP_MODELS";

// In process: trains through the trainer plugin and returns `objectives`' values. Throws
// InvalidArgument when `tensorboard` (if not empty) cannot be created as a directory, or an
// objective is not a trainer metric. With `keeping`, each trial checkpoints and keeps its model
// in the study's folder (trial_files.h; add keeping->files(study).after_trial() as a callback).
std::function<std::vector<double>(Trial&)> make_trainer_objective(
    const TrainConfig& base, const std::vector<SearchParam>& space,
    const std::string& tensorboard = "",
    const std::vector<std::string>& objectives = {"val_accuracy"},
    const std::optional<ModelKeeping>& keeping = std::nullopt);

// Optuna's constraints_func for a study file's `constraints` (StudyOptions::constraints_func):
// their values (trainer_metrics.h, <= 0 feasible) from the trial's "metrics" user attribute.
// A trial without it — pruned before the end — breaks every constraint (+infinity).
std::function<std::vector<double>(const FrozenTrial&)> make_metric_constraints_func(
    std::vector<MetricConstraint> constraints);

// The metric reported after every epoch for these objectives: the single objective when it is
// per-epoch (val_accuracy, val_loss); none for several objectives or one known only at the end.
std::optional<std::string> reported_metric(const std::vector<std::string>& objectives);

// Creates `dir` (and its parents) unless empty; InvalidArgument naming --tensorboard if it can't.
void check_tensorboard_dir(const std::string& dir);

// DIR/trial-<number>: a trial's event files under `knob tune --tensorboard DIR` ("" for "").
std::string trial_log_dir(const std::string& dir, int64_t number);

// A trial's "history" user attribute: per-epoch metrics, one list each (val_accuracy,
// val_loss, train_loss, lr, batch_size, seconds; for regression val_rmse, val_mae and val_r2
// instead of val_accuracy, which stays empty), empty before the first epoch.
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
  // The trainer metrics each child returns, one per direction ($KNOB_OBJECTIVES).
  KNOB_ARG(std::vector<std::string>, objectives) = {"val_accuracy"};
  // [study] keep_models for the children ($KNOB_KEEP_MODELS; unset: no trial files).
  KNOB_ARG(std::optional<std::string>, keep_models);
};

// Isolated: each trial runs `EXECUTABLE train CONFIG --set ... --quiet --protocol`, the
// searched keys set from the trial's suggestions (toml_text), and reads its protocol.
CommandObjective make_isolated_trainer_objective(const std::vector<SearchParam>& space,
                                                 const IsolatedTrainerOptions& options);

// The child side, `knob train --protocol`: a trial of `knob tune --isolate`. Writes to stdout
// what the in-process objective stores — the history after every epoch (so a pruned trial keeps
// it), the stop reason, test accuracy and metrics — then the values of $KNOB_OBJECTIVES (comma-
// separated trainer metrics; unset: train.objective's); a diverged run ends with
// `knob:prune training diverged: ...` instead (the trial ends PRUNED, as in-process). With
// `tensorboard`, the event files go to tensorboard/trial-$KNOB_TRIAL_NUMBER when the tuner set that
// variable (as in-process trials do), else to tensorboard. The process is killed when its parent
// dies.
void run_train_protocol(const TrainConfig& config, const std::string& tensorboard);

}  // namespace knob::run
