// Study: an optimization task — a named set of trials in a storage, one or several
// objective directions, a sampler and a pruner (Optuna's Study, same semantics).
//
// A Study is a handle: copies share the storage, sampler, pruner and stop flag. It is safe to
// share between threads:
// optimize() with n_jobs > 1 runs trials on several threads. Many processes may work on
// one study through a shared SQLite (or PostgreSQL) storage.
//
// Example:
//   auto study = knob::create_study(knob::StudyOptions()
//                                       .storage("sqlite:///knob.db")
//                                       .study_name("mlp")
//                                       .direction(knob::StudyDirection::kMaximize));
//   study.optimize([](knob::Trial& t) {
//     double lr = t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
//     return train_and_validate(lr);
//   }, 100);
//   std::cout << study.best_value() << "\n";
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/storage/storage.h"
#include "knob/storage/trial_cache.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/pruner.h"
#include "knob/tuner/sampler.h"
#include "knob/tuner/trial.h"

namespace knob {

namespace detail {
class HeartbeatThread;
}

struct StudyOptions {
  // Storage URL (open_storage.h); "" is in-memory. Ignored when `storage_instance` is set.
  KNOB_ARG(std::string, storage) = "";
  KNOB_ARG(std::shared_ptr<Storage>, storage_instance);
  // "" makes a unique name.
  KNOB_ARG(std::string, study_name) = "";
  KNOB_ARG(std::vector<StudyDirection>, directions) = {StudyDirection::kMinimize};
  // Default: RandomSampler.
  KNOB_ARG(std::shared_ptr<Sampler>, sampler);
  // Default: MedianPruner with its defaults.
  KNOB_ARG(std::shared_ptr<Pruner>, pruner);
  // With create_study: open the study if the name exists instead of throwing AlreadyExists.
  KNOB_ARG(bool, load_if_exists) = false;
  // Optuna's constraints_func (constraints.h): called for each COMPLETE or PRUNED trial before
  // its state is stored; the values go to the system attribute "constraints", which the
  // samplers, best_trial(s) and the reports read. A throw or a NaN value makes the trial FAIL
  // (fail_reason names constraints_func). Unset: trials carry only the constraints their
  // objective stored itself (a command objective's protocol may).
  KNOB_ARG(ConstraintsFunc, constraints_func);

  // ---- heartbeats and retries (Optuna's RDBStorage heartbeat_interval / grace_period and
  // RetryFailedTrialCallback(max_retry)); read by create_study/load_study ----
  // A trial's first heartbeat is recorded as it is asked, and while optimize() runs it, every
  // this many seconds; before each new trial, RUNNING trials of the study whose heartbeat is
  // older than grace_period are failed as stale (their worker died). Unset: off. Must be > 0.
  KNOB_ARG(std::optional<double>, heartbeat_interval);
  // Seconds without a heartbeat before a trial is stale. Unset: 2 x heartbeat_interval, as in
  // Optuna. Must be > heartbeat_interval.
  KNOB_ARG(std::optional<double>, grace_period);
  // Re-runs a trial failed as stale, with its parameters, at most this many times in a row
  // (system attrs "failed_trial" = the first number, "retry_history" = the numbers so far, as
  // Optuna's RetryFailedTrialCallback(max_retry)). Unset: no retries. Must be >= 0.
  KNOB_ARG(std::optional<int>, max_retry);

 public:
  StudyOptions& direction(StudyDirection d) {
    directions_ = {d};
    return *this;
  }
};

using ObjectiveValues = std::vector<double>;
using Callback = std::function<void(class Study&, const FrozenTrial&)>;

struct OptimizeOptions {
  // Stop after this many trials (run by this call), or...
  KNOB_ARG(std::optional<int64_t>, n_trials);
  // ...once this many seconds have passed (running trials finish).
  KNOB_ARG(std::optional<double>, timeout);
  // Trials run at once on threads of this process.
  KNOB_ARG(int, n_jobs) = 1;
  // Rethrow the first objective exception (after marking its trial FAIL) instead of going on.
  KNOB_ARG(bool, stop_on_error) = false;
  // Called after each trial finishes (from the worker thread, under no lock).
  KNOB_ARG(std::vector<Callback>, callbacks);
  // A progress line on stderr.
  KNOB_ARG(bool, show_progress) = false;
  // Asked before each trial starts (from the worker thread); false starts no more trials.
  // E.g. a budget shared by every process of the study (study_budget.h).
  KNOB_ARG(std::function<bool(class Study&)>, keep_going);
};

class Study {
 public:
  // Prefer create_study / load_study. Of `options`, only the heartbeat fields are read
  // (heartbeat_interval, grace_period, max_retry); throws InvalidArgument for bad ones.
  Study(std::shared_ptr<Storage> storage, int64_t study_id, std::shared_ptr<Sampler> sampler,
        std::shared_ptr<Pruner> pruner, const StudyOptions& options = StudyOptions());

  const std::string& study_name() const { return name_; }
  int64_t study_id() const { return study_id_; }
  const std::vector<StudyDirection>& directions() const { return directions_; }
  // The single direction; throws Error for multi-objective studies.
  StudyDirection direction() const;
  bool is_multi_objective() const { return directions_.size() > 1; }
  Storage& storage() { return *storage_; }
  std::shared_ptr<Storage> storage_ptr() { return storage_; }
  Sampler& sampler() { return *sampler_; }
  Pruner& pruner() { return *pruner_; }
  // StudyOptions::constraints_func (empty if unset).
  const ConstraintsFunc& constraints_func() const { return shared_->constraints_func; }

  // Runs `objective` in trials. The objective returns a double (single objective) or a
  // std::vector<double> (one per direction). An exception other than TrialPruned marks the
  // trial FAIL with the message as "fail_reason" and the study goes on.
  template <typename Objective>
  void optimize(Objective&& objective, const OptimizeOptions& options);
  template <typename Objective>
  void optimize(Objective&& objective, int64_t n_trials) {
    optimize(std::forward<Objective>(objective), OptimizeOptions().n_trials(n_trials));
  }
  // Asks running optimize() calls of this object to start no more trials.
  void stop() { shared_->stop_requested = true; }
  // stop(), and running trials end at their next report or pruning check: Trial::report and
  // Trial::should_prune throw TrialInterrupted, command objectives have their program
  // stopped. Those trials are stored FAIL with system attr "knob:interrupted" = true.
  // Final for this Study object and its copies. Safe to call from another thread (not from a
  // signal handler: set a flag there).
  void interrupt() {
    shared_->interrupt_requested = true;
    stop();
  }
  bool interrupted() const { return shared_->interrupt_requested; }

  // Ask-and-tell: a new trial (or an enqueued one), then its result. With heartbeat_interval
  // set, ask() records the trial's first heartbeat in the transaction that makes it RUNNING
  // (a worker that dies at once still leaves a trial that goes stale); as in Optuna, only
  // optimize() keeps beating and fails stale trials: an ask-and-tell worker calls
  // storage().record_heartbeat(trial.trial_id()) at least every heartbeat_interval until it
  // tells (or its trial is failed as stale), and fail_stale_trials() before each ask().
  Trial ask();
  // Finishes a trial: COMPLETE needs one value per direction; PRUNED/FAIL take none (a
  // PRUNED trial keeps its last intermediate value as its value, as in Optuna). Values that
  // are NaN or of the wrong count turn COMPLETE into FAIL with the reason; returns the
  // stored trial.
  FrozenTrial tell(Trial& trial, TrialState state, const ObjectiveValues& values = {},
                   const std::string& fail_reason = "");
  FrozenTrial tell(int64_t trial_number, TrialState state, const ObjectiveValues& values = {},
                   const std::string& fail_reason = "");

  // Adds a WAITING trial whose parameters are fixed to `params` when next asked. With
  // skip_if_exists, as Optuna's: nothing is added when a trial of the study (any state) has
  // the same parameter names and equal values (its fixed params if it was enqueued); returns
  // whether a trial was added.
  bool enqueue_trial(const std::map<std::string, ParamValue>& params,
                     const std::map<std::string, Json>& user_attrs = {},
                     bool skip_if_exists = false);
  // Enqueues every set of `params`, in one transaction, unless the study carries the system
  // attr `once_key` (which this sets): many processes starting the same study file enqueue its
  // [[study.enqueue]] trials once. Returns whether this call enqueued them.
  bool enqueue_trials_once(const std::string& once_key,
                           const std::vector<std::map<std::string, ParamValue>>& params);
  // Optuna's add_trial / add_trials: stores finished trials (COMPLETE, PRUNED or FAIL) as they
  // are — params, distributions, values, intermediate values, attributes and times (a missing
  // start or completion time becomes now). Every trial is checked before any is stored
  // (check_trial_to_add in study_transfer.h): InvalidArgument names trials[i], changing nothing.
  void add_trial(const FrozenTrial& trial);
  void add_trials(const std::vector<FrozenTrial>& trials);
  // Resuming after an interruption: enqueues again the parameters of each trial that ended
  // FAIL because the study was interrupted and has not been enqueued again yet (the new
  // trial's system attr "knob:retry_of" holds its number). Returns those numbers.
  std::vector<int64_t> enqueue_interrupted_trials();

  // With heartbeat_interval set: fails the study's stale trials (those this call wins; other
  // workers may be failing others at the same time) and, with max_retry, enqueues the retry of
  // every trial failed as stale that has none yet — also of one whose worker died between
  // failing it and enqueuing its retry. Each retry is enqueued once, whoever calls.
  // Returns the failed trials' numbers. Without heartbeat_interval: does nothing.
  std::vector<int64_t> fail_stale_trials();
  // Whether this study records heartbeats (heartbeat_interval was set).
  bool heartbeats_on() const { return shared_->heartbeat != nullptr; }

  // The study's trials ordered by number (optionally only those in `states`), as stored now.
  // Read through a TrialCache shared by this Study's copies: each call reads only the trials
  // created, or left unfinished, since the last one — samplers call it on every ask.
  std::vector<FrozenTrial> trials(const std::vector<TrialState>& states = {});
  // The best feasible (constraints.h) COMPLETE trial (single objective); throws Error if there
  // is none, as Optuna does.
  FrozenTrial best_trial();
  double best_value() { return best_trial().value(); }
  std::map<std::string, ParamValue> best_params() { return best_trial().params(); }
  // The Pareto front of the feasible (constraints.h) COMPLETE trials, any number of
  // objectives: as in Optuna, infeasible trials are never on it.
  std::vector<FrozenTrial> best_trials();

  void set_user_attr(const std::string& key, const Json& value);
  std::map<std::string, Json> user_attrs();

 private:
  friend class Trial;
  void run_optimize(const std::function<ObjectiveValues(Trial&)>& objective,
                    const OptimizeOptions& options);
  // nullopt when the sampler is exhausted and `always` is false.
  std::optional<Trial> ask_impl(bool always);
  FrozenTrial run_trial(const std::function<ObjectiveValues(Trial&)>& objective,
                        bool stop_on_error);
  FrozenTrial finish(int64_t trial_id, const FrozenTrial& snapshot, TrialState state,
                     ObjectiveValues values, std::string fail_reason);

  // Enqueues, once in the study's life, a retry of `failed` unless its retry chain is
  // max_retry long.
  void enqueue_retry(const FrozenTrial& failed);

  std::shared_ptr<Storage> storage_;
  int64_t study_id_;
  std::string name_;
  std::vector<StudyDirection> directions_;
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<Pruner> pruner_;
  // Intermediate values wait here and reach the storage at most a second late (one write
  // instead of one per step), and always before the trial is told.
  void buffer_report(int64_t trial_id, int64_t step, double value);
  // `forget`: the trial is being told; drop its buffer.
  void flush_reports(int64_t trial_id, bool forget = false);

  struct UnsavedReports {
    std::map<int64_t, double> values;
    TimePoint last_flush = now();
  };
  struct Shared {
    std::recursive_mutex model_mutex;  // serializes sampler and pruner calls
    std::atomic<bool> stop_requested{false};
    std::atomic<bool> interrupt_requested{false};
    std::mutex reports_mutex;
    std::map<int64_t, UnsavedReports> unsaved_reports;  // by trial id
    // Heartbeats: set when heartbeat_interval is.
    std::shared_ptr<detail::HeartbeatThread> heartbeat;
    double grace_period = 0;
    std::optional<int> max_retry;
    ConstraintsFunc constraints_func;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::shared_ptr<TrialCache> trial_cache_;  // shared by copies, as shared_
};

// Creates a study (or opens it, with load_if_exists). Throws AlreadyExists, InvalidArgument.
Study create_study(const StudyOptions& options = {});
// Opens an existing study by options.study_name(); throws NotFound naming it.
Study load_study(const StudyOptions& options);
// Deletes a study and its trials; throws NotFound.
void delete_study(const std::string& study_name, const std::string& storage_url);
// Every study in the storage, with trial counts and best trial.
std::vector<StudySummary> get_all_study_summaries(const std::string& storage_url);

// Whether `a` Pareto-dominates `b` under `directions` (no worse in all, better in one).
bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<StudyDirection>& directions);

template <typename Objective>
void Study::optimize(Objective&& objective, const OptimizeOptions& options) {
  using Result = std::invoke_result_t<Objective&, Trial&>;
  if constexpr (std::is_convertible_v<Result, double>) {
    run_optimize(
        [&objective](Trial& t) { return ObjectiveValues{static_cast<double>(objective(t))}; },
        options);
  } else {
    run_optimize([&objective](Trial& t) { return ObjectiveValues(objective(t)); }, options);
  }
}

}  // namespace knob
