// PBT inside a study ([study] pbt = { ... }): a population whose members are trials of one study,
// trained by any number of threads and processes on the same storage with no coordinator.
//
// Each *segment* — a member trained for `interval` epochs with one config — is one trial: its
// params are that segment's knobs ([search]'s names), its intermediate values the member's
// per-epoch metric at absolute epochs, its value the metric at the segment's last epoch, and
// its user attributes name the member (pbt:member), the generation (pbt:generation), the parent
// segment whose checkpoint it starts from (pbt:parent, a trial number, null for generation 0),
// the member it copied (pbt:copied_from), its first epoch (pbt:first_epoch) and the lr per
// epoch it trained with (pbt:lrs). Optuna and the dashboard see the trials as any others.
//
// A worker loops: (1) when every segment of generation g has finished (COMPLETE or FAIL), it
// computes generation g + 1 — for each member whose segment completed, the exploit/explore
// decision of pbt_policy.h, a pure function of the stored values and pbt_seed(seed, g + 1,
// member), so every worker computes the same — and enqueues those segments WAITING in one
// transaction that only the first worker to get there performs (create_trials_once); (2) else
// it pops a WAITING segment atomically, copies its parent's checkpoint (files keyed by trial
// number in a directory the workers share), trains it and tells it; (3) else, until every
// member finished its last epoch or dropped out, it polls the storage. A member whose segment
// FAILs (its trainer threw, or its worker died and the heartbeat went stale) drops out; a
// member the trainer stopped early (early stopping, divergence) is not continued. A segment
// interrupted (Ctrl-C: Study::interrupt) is stored FAIL with pbt:interrupted and enqueued again,
// once, by the next worker that looks — this process run again, or another one still running.
//
// Example:
//   PbtPlan plan = make_pbt_plan(base, study_config.search, *study_config.pbt, dir);
//   enqueue_first_generation(study, plan);
//   run_pbt_workers(study, plan, fit, /*threads=*/2);     // other processes may join
//   PbtLineage best = best_lineage(study, plan);
//   std::cout << replay_command("fmnist.toml", {}, plan, best) << "\n";
#pragma once

#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/param_value.h"
#include "knob/run/study_config.h"
#include "knob/train/config.h"
#include "knob/train/pbt_policy.h"
#include "knob/train/population.h"
#include "knob/tuner/study.h"

namespace knob::run {

// What every worker of a PBT study must agree on.
struct PbtPlan {
  TrainConfig base;                                   // the trainer's config before the knobs
  std::vector<MutableKnob> knobs;                     // [search], as knobs
  std::map<std::string, Distribution> distributions;  // [search], as the trials store them
  PbtConfig pbt;
  uint64_t seed = 0;                    // [study] seed
  std::string metric = "val_accuracy";  // the per-epoch metric reported and ranked
  StudyDirection direction = StudyDirection::kMaximize;
  std::string checkpoint_dir;    // resolved: exists
  double poll_seconds = 0.2;     // between looks at the storage while waiting
  double heartbeat_seconds = 0;  // a running segment's heartbeat (0: none)
  std::ostream* log = nullptr;   // "[knob] pbt ..." lines (none: silent)
};

// The plan of a study config: [search] as knobs (FloatDistribution -> kFloat, IntDistribution
// -> kInt, CategoricalDistribution -> kCategorical), the metric the trainer reports
// (train.objective, or val_accuracy), the checkpoint directory created. InvalidArgument naming
// the key for a metric whose direction the study contradicts.
PbtPlan make_pbt_plan(const TrainConfig& base, const StudyConfig& config,
                      const std::string& checkpoint_dir);
// [study] pbt.checkpoint_dir, or its default: <file>.pbt/<study name> beside a SQLite file,
// else <temporary directory>/knob-pbt-<study name>.
std::string default_pbt_checkpoint_dir(const StudyConfig& config);

// Enqueues the members' first segments (knobs drawn with pbt_seed(seed, 0, member)) once per
// study, whoever calls first; returns whether this call did.
bool enqueue_first_generation(Study& study, const PbtPlan& plan);

// One stored segment, read back from its trial.
struct PbtSegment {
  int64_t number = -1;  // the trial's
  int64_t member = -1, generation = -1;
  int64_t parent = -1;       // the trial number whose checkpoint it starts from (-1: none)
  int64_t copied_from = -1;  // the member it copied (itself when it kept its own)
  int64_t first_epoch = 0;
  TrialState state = TrialState::kWaiting;
  std::optional<double> value;  // COMPLETE
  std::vector<double> lrs;      // per epoch trained
  bool stopped = false;         // the trainer stopped the member early
  uint64_t train_seed = 0;      // train.seed of its lineage (the checkpoint's)
  bool interrupted = false;     // FAIL because its study was interrupted: it runs again
  std::map<std::string, ParamValue> params;
};
// The study's segments, by trial number (trials without pbt:member are left out).
std::vector<PbtSegment> pbt_segments(const std::vector<FrozenTrial>& trials);

// Generation g + 1's segments as `plan` decides them from generation g's: one per member whose
// generation-g segment completed (and was not stopped), with its parent, knobs and the member
// it copied. Empty when generation g is not finished or was the last. Pure.
std::vector<PbtSegment> next_generation(const std::vector<PbtSegment>& segments,
                                        const PbtPlan& plan, int64_t generation);

// Runs the worker loop on `threads` threads until every member finished or dropped out.
// `fit` trains a config with an epoch callback (train_with_plugin, or a stand-in in tests).
void run_pbt_workers(Study& study, const PbtPlan& plan, const FitFunction& fit, int64_t threads);

// The best member's lineage: its segments from generation 0 (following parents through copies),
// the lr of every epoch the weights it ends with were trained with, and its final knobs.
struct PbtLineage {
  std::vector<PbtSegment> segments;
  std::vector<double> lrs;
  std::map<std::string, ParamValue> final_params;
  double value = 0;
};
// nullopt when no segment of the last generation completed.
std::optional<PbtLineage> best_lineage(const std::vector<PbtSegment>& segments,
                                       const PbtPlan& plan);

// The `knob train` command that replays a lineage: the config and its --set overrides, the
// final knobs, then schedule.kind=piecewise, schedule.warmup=0 and schedule.lrs=[...] (with
// `unscale_lr`, batch.scale_lr=false: the stored lrs were scaled already); each word quoted
// for /bin/sh. The other knobs are replayed at their final values (only the lr has a per-epoch
// schedule).
std::string replay_command(const std::string& config, const std::vector<std::string>& overrides,
                           const PbtLineage& lineage, bool unscale_lr = false);

// Prints the lineage (member, generation, trial, copied from, lrs) and the replay command.
void print_lineage(const PbtLineage& lineage, const std::string& replay, std::ostream& out);

struct PbtRunOptions {
  std::string config;                  // the study file, named in the replay command
  std::vector<std::string> overrides;  // its --set overrides
  std::ostream* out = &std::cout;      // the lineage and the replay command
  std::ostream* log = &std::cerr;      // "[knob] pbt: ..." lines (nullptr: none)
  double poll_seconds = 0.2;
  std::function<void(Study&)> on_open;  // called once the study is open (knob tune: stores the
                                        // config for `knob worker`)
};

// What `knob tune` runs for a config with [study] pbt: opens (or joins) the study, with
// heartbeats (the config's, else every 10 s, stale after 20 s) and no retries, enqueues the
// first generation once, works with config.jobs threads until the population is done, then
// prints the best lineage and its replay command. Any number of processes may run it on one
// storage at once. nullopt when no member finished its last epoch.
std::optional<PbtLineage> run_pbt_study(const StudyConfig& config, const TrainConfig& base,
                                        const FitFunction& fit, const PbtRunOptions& options);

}  // namespace knob::run
