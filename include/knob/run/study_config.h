// StudyConfig: the [study] and [search] tables of a TOML study file — where the study lives,
// its direction, sampler, pruner and budget, and the search space. The objective (the trainer's
// tables, or a command) is read by its own reader from the same file.
//
//   [study]
//   storage = "sqlite:///knob.db"      # default
//   name = "fashion-mnist"
//   direction = "maximize"            # or directions = ["maximize", "minimize"]
//   objectives = ["val_accuracy", "train_seconds"]   # the trainer's metrics, one per direction
//   constraints = ["train_seconds <= 300"]           # feasible trials keep every bound
//   sampler = "random"                # random | grid | tpe | qmc | gp | cmaes | nsga2
//   seed = 1
//   tpe = { multivariate = true }     # the sampler's options (TpeOptions, QmcOptions,
//                                     # GpOptions, CmaEsOptions, NsgaIIOptions): tpe, qmc, gp,
//                                     # cmaes, nsga2 tables
//   pruner = "median"                 # median | percentile | threshold | asha | hyperband |
//                                     # curve | none
//   asha = { reduction_factor = 3 }   # the pruner's options: median, percentile, threshold,
//                                     # asha, hyperband, curve tables; "auto" resources as Optuna
//   patient = { patience = 2 }        # wraps the pruner chosen in a PatientPruner
//   n_startup_trials = 5              # the median pruner's (also median = {...})
//   n_warmup_steps = 0
//   n_trials = 20                     # and/or timeout = 600 (seconds)
//   jobs = 2                          # trials at once, or "auto": one per core
//   isolate = false                   # true: each trial in a child process of its own
//   heartbeat_interval = 10           # seconds; a trial silent for grace_period (default 2x)
//   grace_period = 20                 # is failed by another process and, up to max_retry
//   max_retry = 3                     # times, run again (`knob worker`: these defaults)
//
//   [search]                          # parameter name = its distribution
//   "optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }
//   "batch.size" = { low = 16, high = 512, log = true }          # integers: an IntDistribution
//   "model.dropout" = { low = 0.0, high = 0.5, step = 0.1 }
//   "optimizer.kind" = { choices = ["sgd", "adam", "rmsprop"] }
//   "optimizer.momentum" = { low = 0.5, high = 0.99, when = { "optimizer.kind" = ["sgd", "rmsprop"]
//   } }
//
//   pbt = { population = 8, interval = 2 }   # population-based training inside the study
//                                     # (pbt_study.h): quantile_fraction, resample_probability,
//                                     # checkpoint_dir too
//
//   [[study.enqueue]]                 # fixed parameters run first, e.g. a known good setting:
//   "optimizer.lr" = 1e-3             # enqueued once, when the study is first run from this
//   "batch.size" = 32                 # file (not again on resume or by each worker)
//
// A parameter with `when` is searched only in trials where the parameters it names took one of
// the values listed (search_space.h); otherwise the trainer keeps the config's value.
// With sampler = "grid" every parameter lists its values (`choices`) and each combination
// runs once. With isolate = true a crash or out-of-memory kill ends one trial FAIL, not the
// study (`knob tune` runs each trial as `knob train ... --protocol`, command_objective.h).
// objectives and constraints name trainer metrics (trainer_metrics.h); a direction that
// contradicts its metric (maximize val_loss) or a count that differs is refused here, before
// any trial. Errors name the file, the table and the key.
#pragma once

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/distribution.h"
#include "knob/run/trainer_metrics.h"
#include "knob/train/config.h"
#include "knob/tuner/pruner.h"
#include "knob/tuner/pruners/curve_pruner.h"
#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/pruners/patient_pruner.h"
#include "knob/tuner/pruners/percentile_pruner.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"
#include "knob/tuner/pruners/threshold_pruner.h"
#include "knob/tuner/sampler.h"
#include "knob/tuner/samplers/cmaes_sampler.h"
#include "knob/tuner/samplers/gp_sampler.h"
#include "knob/tuner/samplers/nsga2_sampler.h"
#include "knob/tuner/samplers/qmc_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/search_space.h"

namespace knob {

inline constexpr int64_t kJobsAuto = -1;
// At most this many trials at once (jobs, --jobs; "auto" too): each is a thread of knob, and
// beyond this the threads only contend (and a few thousand exhaust the process's memory map).
inline constexpr int64_t kMaxJobs = 1024;
// Seconds a command trial's timeout and kill grace may take: about 31 years. Longer values
// overflow the nanosecond clock the deadlines are kept in (int64 ns: 292 years from boot).
inline constexpr double kMaxSeconds = 1e9;

// [objective]: a command run for every trial (command_objective.h) instead of the trainer.
struct CommandConfig {
  std::string shell;              // command = "python3 train.py --lr {lr}": run by /bin/sh -c
  std::vector<std::string> argv;  // command = ["python3", "train.py", "--lr={lr}"]: run directly
  std::optional<double> timeout;  // seconds a trial may run
  double kill_grace = 5.0;        // seconds between SIGTERM and SIGKILL
};

// [study] pbt = { ... }: population-based training inside the study (knob/run/pbt_study.h).
// The [search] ranges and choices give the members' first draws and bound their mutations.
struct PbtConfig {
  int64_t population = 4;              // members (>= 2)
  int64_t interval = 1;                // epochs per segment (one trial each)
  double quantile_fraction = 0.25;     // [0, 0.5]: the bottom fraction copies the top fraction
  double resample_probability = 0.25;  // [0, 1]: an explored knob redrawn instead of perturbed
  // Segments' checkpoints, by trial number, shared by the workers. "": beside a SQLite file
  // (<file>.pbt/<study name>/), else a directory in the temporary directory.
  std::string checkpoint_dir;
};

struct StudyConfig {
  std::string storage = "sqlite:///knob.db";
  std::string name;
  std::vector<StudyDirection> directions = {StudyDirection::kMaximize};
  // The trainer's metrics, one per direction (trainer_metrics.h); empty: val_accuracy.
  std::vector<std::string> objectives;
  // Bounds on the trainer's metrics; a trial that breaks one is infeasible.
  std::vector<MetricConstraint> constraints;
  std::string sampler = "random";
  std::optional<uint64_t> seed;
  TpeOptions tpe;  // with sampler = "tpe" (the seed is `seed`)
  QmcOptions qmc;  // with sampler = "qmc"
  GpOptions gp;
  CmaEsOptions cmaes;
  NsgaIIOptions nsga2;  // with sampler = "nsga2"
  std::string pruner = "median";
  MedianPrunerOptions median;  // also [study] n_startup_trials and n_warmup_steps
  PercentilePrunerOptions percentile{std::numeric_limits<double>::quiet_NaN()};  // must be set
  ThresholdPrunerOptions threshold;
  SuccessiveHalvingPrunerOptions asha;
  HyperbandPrunerOptions hyperband;
  CurvePrunerOptions curve;
  std::optional<PatientPrunerOptions> patient;  // wraps the pruner chosen (or none)
  std::optional<int64_t> n_trials;
  std::optional<double> timeout;
  int64_t jobs = 1;      // kJobsAuto: one per core (OptimizeOptions::n_jobs(-1))
  bool isolate = false;  // each trial in its own process
  // The trained models the trials keep (trial_files.h): best | all | none. Every trial also
  // checkpoints each epoch, so a retry continues where its trial stopped.
  std::string keep_models = "best";
  // Heartbeats of running trials, and retries of those that went stale (StudyOptions).
  std::optional<double> heartbeat_interval;
  std::optional<double> grace_period;
  std::optional<int64_t> max_retry;
  std::vector<SearchParam> search;       // parents before the parameters they control
  std::optional<CommandConfig> command;  // [objective]; unset: the trainer is the objective
  std::optional<PbtConfig> pbt;          // [study] pbt: PBT instead of the sampler
  // [[study.enqueue]] tables: parameters (names of [search]) of trials run first.
  std::vector<std::map<std::string, ParamValue>> enqueue;
};

StudyConfig parse_study_config(const std::string& toml_text, const std::string& origin);
StudyConfig load_study_config(const std::string& path);

// The trainer metrics a config's trainer objective returns: `objectives`, or train.objective's.
std::vector<std::string> trainer_objectives(const StudyConfig& config, const TrainConfig& train);
// Before any trial: each objective (and constrained metric) is one the trainer measures for
// train.loss (no val_accuracy for regression), and each direction agrees with its metric
// (maximize val_loss is refused). InvalidArgument naming the key otherwise.
void check_trainer_objectives(const StudyConfig& config, const TrainConfig& train);

// The sampler and pruner a config names (the pruner wrapped in a PatientPruner with
// `patient`).
std::shared_ptr<Sampler> make_sampler(const StudyConfig& config);
std::shared_ptr<Pruner> make_pruner(const StudyConfig& config);
// The sampler or pruner `name` with the config's options for it (the pruner never wrapped).
std::shared_ptr<Sampler> make_sampler(const StudyConfig& config, const std::string& name);
std::shared_ptr<Pruner> make_pruner(const StudyConfig& config, const std::string& name);

}  // namespace knob
