// The study runner: what `knob tune` and `knob worker` do, for any C++ program. It opens a
// study (or, with resume, continues an interrupted one), runs on it a built-in objective
// (builtin_objectives.h), a study file's [objective] command or the trainer over its [search]
// space (trainer_objective.h), shares the study's budget and config with the workers that join
// it, and prints the best trials. Progress and "[knob]" lines go to options.log, results to
// options.out. Bad input throws InvalidArgument naming the option (as its `knob tune` flag).
//
// Example:
//   auto result = knob::run::tune(knob::run::TuneOptions()
//                                     .config("fmnist.toml")
//                                     .storage("sqlite:///fmnist.db")
//                                     .n_trials(20));
//   // a worker on another machine: runs the stored config until the study's budget is spent
//   knob::run::run_worker(knob::run::TuneOptions().storage(url).study_name("fmnist"));
#pragma once

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/param_value.h"
#include "knob/run/study_config.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/study.h"

namespace knob::run {

// A stream to print to (KNOB_ARG takes a pointer type as one name).
using OstreamPtr = std::ostream*;

// Watches a running study for as long as it lives and may interrupt it (Study::interrupt);
// the executable's guard does so on Ctrl-C and SIGTERM.
class RunGuard {
 public:
  virtual ~RunGuard() = default;
  // Whether the guard interrupted the study.
  virtual bool interrupted() const = 0;
};
using RunGuardFactory = std::function<std::unique_ptr<RunGuard>(Study&)>;

struct TuneOptions {
  // A study TOML ([study], [search] and the trainer's tables, or an [objective] command).
  // Empty: the built-in objective `objective`.
  KNOB_ARG(std::string, config);
  // Trainer config keys set after the file's: table.key=value (`--set`).
  KNOB_ARG(std::vector<std::string>, overrides);

  // Set, these override a config's [study] table; without a config, unset takes the default.
  KNOB_ARG(std::optional<std::string>, storage);     // default sqlite:///knob.db
  KNOB_ARG(std::optional<std::string>, study_name);  // default: config's name, or knob-OBJECTIVE
  KNOB_ARG(std::optional<std::string>, sampler);     // default random
  KNOB_ARG(std::optional<std::string>, pruner);      // default median
  KNOB_ARG(std::optional<int64_t>, n_trials);        // default 50 (a config: 20) without timeout
  KNOB_ARG(std::optional<double>, timeout);          // seconds
  KNOB_ARG(std::optional<int64_t>, jobs);            // trials at once; kJobsAuto: one per core
  KNOB_ARG(std::optional<uint64_t>, seed);
  KNOB_ARG(std::optional<bool>, isolate);  // each trainer trial in a child process

  // Without a config: the built-in objective, and the grid of --sampler grid (parse_grid).
  KNOB_ARG(std::string, objective) = "branin";
  KNOB_ARG(std::vector<std::string>, grid);
  // Trainer trials' TensorBoard event files: DIR/trial-<number>.
  KNOB_ARG(std::string, tensorboard);
  // Continue an interrupted study: its interrupted trials first, n_trials counting the trials
  // it has finished.
  KNOB_ARG(bool, resume) = false;
  // No progress line.
  KNOB_ARG(bool, quiet) = false;
  KNOB_ARG(OstreamPtr, out) = &std::cout;  // the best trials
  KNOB_ARG(OstreamPtr, log) = &std::cerr;  // "[knob] ..." lines
  // The knob executable isolated trials run (`knob train ... --protocol`); in a program other
  // than knob, set it to knob's path.
  KNOB_ARG(std::string, train_executable) = "/proc/self/exe";
  // Made once the study is open, kept while it runs (none: nothing interrupts the study).
  KNOB_ARG(RunGuardFactory, guard);
};

struct TuneResult {
  // The best trial, or those on the Pareto front; empty when the study is left ready with no
  // trial run (n_trials 0), or after an interruption that no completed trial preceded.
  std::vector<FrozenTrial> best;
  // The guard interrupted the study; `message` says what happened and how to continue.
  bool interrupted = false;
  std::string message;
};

// knob tune: a study from options.config, or on the built-in objective without one. Its
// budget and config are stored with the study for the workers that join it.
TuneResult tune(const TuneOptions& options);
// knob tune --resume: tune() continuing the interrupted study (NotFound if there is none).
TuneResult resume(TuneOptions options);
// knob worker: joins the study and runs trials until the study's stored budget is spent. With
// options.config it may create the study (the config's budget becomes the study's); without
// it, runs the config the study stored, with options.overrides after the stored ones.
TuneResult run_worker(const TuneOptions& options);

// What a process does in a study: tune adds its trials to the study's budget; a worker runs
// until the stored budget is spent, with heartbeats (default 10 s) and 3 retries.
enum class Role { kTune, kWorker };

// Sets `config`'s [study] values from the options that are set; the name defaults to the
// config file's stem, jobs = kJobsAuto becomes every core. InvalidArgument for a grid sampler
// given by option (a config's grid is its [search] choices).
void apply_options(const TuneOptions& options, Role role, StudyConfig& config);

// The `knob tune ... --resume` command that continues the study of `options` (printed after an
// interruption): every option that shapes the study — the config and each --set, --objective,
// --storage and --study-name as run, --n-trials `n_trials_total` (the trials the study should
// hold in all), --timeout, --jobs, --seed, --sampler, --grid, --pruner, --isolate,
// --tensorboard — each word quoted for /bin/sh.
std::string resume_command(const TuneOptions& options, const std::string& storage,
                           const std::string& study_name, std::optional<int64_t> n_trials_total);

// One per core (at least 1, at most kMaxJobs); `jobs` itself unless it is kJobsAuto, which must
// be 1 to kMaxJobs (InvalidArgument naming --jobs).
int64_t every_core();
int64_t resolve_jobs(int64_t jobs);
// The trials x threads choice: with several trials at once each trainer trial gets
// cores / jobs libtorch threads (at least 1), which on small models beats sharing every core;
// one trial at a time keeps the config's threads (nullopt).
std::optional<int64_t> threads_per_trial(int64_t jobs, int64_t cores = every_core());

// "--grid x=-5,0,5" -> {"x", {-5.0, 0.0, 5.0}}; values are numbers, booleans or strings.
// InvalidArgument naming --grid for a spec without NAME= or with an empty value.
GridSampler::SearchSpace parse_grid(const std::vector<std::string>& specs);

// Prints the best trial (several objectives: the trials on the Pareto front) with its
// parameters to `out` and returns them. Throws Error saying why when no trial completed.
std::vector<FrozenTrial> print_best(Study& study, std::ostream& out);

// The config a study's workers run, stored with the study (system attr "knob:config").
struct StoredConfig {
  std::string file;                    // where it was read from
  std::string toml;                    // its text
  std::vector<std::string> overrides;  // its --set overrides
};
void store_config(Study& study, const StoredConfig& config);
// nullopt when the study stored no config (it was not started from a config by knob).
std::optional<StoredConfig> load_stored_config(Study& study);

}  // namespace knob::run
