#include "knob/tuner/study.h"

#include <cmath>
#include <cstdio>
#include <exception>
#include <set>
#include <thread>

#include <unistd.h>

#include "knob/core/error.h"
#include "knob/core/random.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study_transfer.h"
#include "tuner/heartbeat_thread.h"

namespace knob {
namespace {

bool better(double a, double b, StudyDirection direction) {
  return direction == StudyDirection::kMaximize ? a > b : a < b;
}

std::string unique_study_name() {
  Rng rng;
  char text[40];
  std::snprintf(text, sizeof text, "no-name-%016llx",
                static_cast<unsigned long long>(rng.next_u64()));
  return text;
}

// The "\r" progress line of optimize(show_progress).
class Progress {
 public:
  Progress(bool enabled, std::optional<int64_t> n_trials, StudyDirection direction,
           std::optional<double> best)
      : enabled_(enabled), n_trials_(n_trials), direction_(direction), best_(best) {}

  void trial_finished(const FrozenTrial& trial, bool single_objective) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    ++by_state_[trial.state];
    if (single_objective && trial.state == TrialState::kComplete &&
        (!best_ || better(trial.values[0], *best_, direction_))) {
      best_ = trial.values[0];
      best_number_ = trial.number;
    }
    if (!enabled_) return;
    // On a terminal the line redraws in place; in a log, a line every few seconds.
    const bool final = n_trials_ && done_ >= *n_trials_;
    if (!final && seconds_between(last_print_, now()) < (tty_ ? 0.1 : 5.0)) return;
    last_print_ = now();
    double elapsed = seconds_between(start_, now());
    std::string total = n_trials_ ? "/" + std::to_string(*n_trials_) : "";
    std::string best = best_ ? dumps(Json(*best_)) : "-";
    if (best_number_ >= 0) best += " (trial " + std::to_string(best_number_) + ")";
    std::fprintf(stderr,
                 "%s[knob] %lld%s trials | best %s | %lld complete, %lld pruned, %lld failed | "
                 "%.1f trials/s%s",
                 tty_ ? "\r" : "", static_cast<long long>(done_), total.c_str(), best.c_str(),
                 static_cast<long long>(by_state_[TrialState::kComplete]),
                 static_cast<long long>(by_state_[TrialState::kPruned]),
                 static_cast<long long>(by_state_[TrialState::kFail]),
                 elapsed > 0 ? done_ / elapsed : 0.0, tty_ ? "   " : "\n");
    printed_ = true;
    std::fflush(stderr);
  }

  ~Progress() {
    if (enabled_ && tty_ && printed_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  std::optional<int64_t> n_trials_;
  StudyDirection direction_;
  std::optional<double> best_;
  int64_t best_number_ = -1;
  int64_t done_ = 0;
  std::map<TrialState, int64_t> by_state_;
  TimePoint start_ = now();
  TimePoint last_print_ = TimePoint{};
  bool tty_ = isatty(STDERR_FILENO) != 0;
  bool printed_ = false;
  std::mutex mutex_;
};

// A WAITING trial whose parameters are fixed to `params` when it is claimed.
FrozenTrial waiting_trial(const std::map<std::string, ParamValue>& params) {
  FrozenTrial templ;
  templ.state = TrialState::kWaiting;
  Json fixed = Json::object();
  for (const auto& [name, value] : params) fixed[name] = to_json(value);
  templ.system_attrs["fixed_params"] = std::move(fixed);
  return templ;
}

}  // namespace

bool dominates(const std::vector<double>& a, const std::vector<double>& b,
               const std::vector<StudyDirection>& directions) {
  bool strictly = false;
  for (size_t i = 0; i < directions.size(); ++i) {
    if (better(b[i], a[i], directions[i])) return false;
    if (better(a[i], b[i], directions[i])) strictly = true;
  }
  return strictly;
}

Study::Study(std::shared_ptr<Storage> storage, int64_t study_id, std::shared_ptr<Sampler> sampler,
             std::shared_ptr<Pruner> pruner, const StudyOptions& options)
    : storage_(std::move(storage)),
      study_id_(study_id),
      name_(storage_->study_name_from_id(study_id)),
      directions_(storage_->study_directions(study_id)),
      sampler_(sampler ? std::move(sampler) : std::make_shared<RandomSampler>()),
      pruner_(pruner ? std::move(pruner) : std::make_shared<MedianPruner>()),
      trial_cache_(std::make_shared<TrialCache>(storage_, study_id)) {
  const auto& interval = options.heartbeat_interval();
  const std::string off = " (heartbeats are off: heartbeat_interval is unset)";
  if (interval) {
    KNOB_CHECK(std::isfinite(*interval) && *interval > 0, "heartbeat_interval", *interval,
               "must be a number of seconds > 0 (or unset: no heartbeats)");
  }
  if (const auto& grace = options.grace_period()) {
    KNOB_CHECK(interval.has_value(), "grace_period", *grace, "needs heartbeat_interval" + off);
    KNOB_CHECK(std::isfinite(*grace) && *grace > *interval, "grace_period", *grace,
               "must be a number of seconds > heartbeat_interval (" + dumps(Json(*interval)) +
                   "): a live trial beats only every heartbeat_interval");
  }
  if (const auto& max_retry = options.max_retry()) {
    KNOB_CHECK(interval.has_value(), "max_retry", *max_retry, "needs heartbeat_interval" + off);
    KNOB_CHECK(*max_retry >= 0, "max_retry", *max_retry, "must be >= 0 (or unset: no retries)");
  }
  shared_->constraints_func = options.constraints_func();
  if (interval) {
    shared_->heartbeat = std::make_shared<detail::HeartbeatThread>(storage_, *interval);
    shared_->grace_period = options.grace_period().value_or(2 * *interval);  // Optuna's default
    shared_->max_retry = options.max_retry();
  }
}

StudyDirection Study::direction() const {
  if (directions_.size() != 1) {
    throw Error("study '" + name_ + "' has " + std::to_string(directions_.size()) +
                " objectives; use directions()");
  }
  return directions_[0];
}

std::optional<Trial> Study::ask_impl(bool always) {
  {
    std::lock_guard<std::recursive_mutex> lock(shared_->model_mutex);
    sampler_->before_ask(*this);
  }
  // With heartbeats, a trial beats from the transaction that makes it RUNNING: a worker that
  // dies before its HeartbeatThread's first beat still leaves a trial that goes stale.
  const bool with_heartbeat = heartbeats_on();
  std::optional<int64_t> trial_id = storage_->claim_waiting_trial(study_id_, with_heartbeat);
  if (!trial_id) {
    if (!always) {
      std::lock_guard<std::recursive_mutex> lock(shared_->model_mutex);
      if (sampler_->is_exhausted(*this)) return std::nullopt;
    }
    trial_id = storage_->create_trial(study_id_, /*templ=*/nullptr, with_heartbeat);
  }
  return Trial(*this, *trial_id);
}

Trial Study::ask() { return *ask_impl(/*always=*/true); }

void Study::buffer_report(int64_t trial_id, int64_t step, double value) {
  bool due;
  {
    std::lock_guard<std::mutex> lock(shared_->reports_mutex);
    UnsavedReports& unsaved = shared_->unsaved_reports[trial_id];
    unsaved.values[step] = value;
    due = seconds_between(unsaved.last_flush, now()) >= 1.0;
  }
  if (due) flush_reports(trial_id);
}

void Study::flush_reports(int64_t trial_id, bool forget) {
  std::map<int64_t, double> values;
  {
    std::lock_guard<std::mutex> lock(shared_->reports_mutex);
    auto it = shared_->unsaved_reports.find(trial_id);
    if (it == shared_->unsaved_reports.end()) return;
    values.swap(it->second.values);
    it->second.last_flush = now();
    if (forget) shared_->unsaved_reports.erase(it);
  }
  if (!values.empty()) storage_->set_trial_intermediate_values(trial_id, values);
}

FrozenTrial Study::finish(int64_t trial_id, const FrozenTrial& snapshot, TrialState state,
                          ObjectiveValues values, std::string fail_reason) {
  KNOB_CHECK(is_finished(state), "state", to_string(state), "must be COMPLETE, PRUNED or FAIL");
  flush_reports(trial_id, /*forget=*/true);
  if (state == TrialState::kComplete) {
    if (values.size() != directions_.size()) {
      fail_reason = "the objective returned " + std::to_string(values.size()) +
                    " values; the study has " + std::to_string(directions_.size()) + " directions";
    }
    for (double v : values) {
      if (std::isnan(v)) fail_reason = "the objective returned NaN";
    }
    if (!fail_reason.empty()) state = TrialState::kFail;
  }
  if (state != TrialState::kComplete) values.clear();
  if (state == TrialState::kPruned && !is_multi_objective()) {
    auto last = snapshot.last_step();
    if (last && !std::isnan(last->second)) values = {last->second};
  }
  FrozenTrial done = snapshot;
  if (shared_->constraints_func &&
      (state == TrialState::kComplete || state == TrialState::kPruned)) {
    // As Optuna's _process_constraints_after_trial, before the state is stored.
    done.state = state;
    done.values = values;
    done.trial_id = trial_id;
    std::string problem = store_constraints(*this, done, shared_->constraints_func);
    if (!problem.empty()) {
      state = TrialState::kFail;
      fail_reason = std::move(problem);
      values.clear();
    }
  }
  if (state == TrialState::kFail && !fail_reason.empty()) {
    storage_->set_trial_system_attr(trial_id, "fail_reason", fail_reason);
  }
  {
    std::lock_guard<std::recursive_mutex> lock(shared_->model_mutex);
    sampler_->after_trial(*this, done, state, values);
  }
  if (!storage_->set_trial_state_values(trial_id, state, values)) {
    throw Error("trial " + std::to_string(snapshot.number) +
                " has already finished; it cannot be told again");
  }
  done.state = state;
  done.values = std::move(values);
  done.datetime_complete = now();
  if (!fail_reason.empty()) done.system_attrs["fail_reason"] = fail_reason;
  return done;
}

namespace {

// A second tell must change nothing: not the sampler (after_trial), not the attributes.
void check_not_finished(const FrozenTrial& stored) {
  if (is_finished(stored.state)) {
    throw Error("trial " + std::to_string(stored.number) + " has already finished as " +
                to_string(stored.state) + "; it cannot be told again");
  }
}

}  // namespace

FrozenTrial Study::tell(Trial& trial, TrialState state, const ObjectiveValues& values,
                        const std::string& fail_reason) {
  check_not_finished(storage_->trial(trial.trial_id()));
  return finish(trial.trial_id(), trial.snapshot(), state, values, fail_reason);
}

FrozenTrial Study::tell(int64_t trial_number, TrialState state, const ObjectiveValues& values,
                        const std::string& fail_reason) {
  int64_t trial_id;
  try {
    trial_id = storage_->trial_id_from_number(study_id_, trial_number);
  } catch (const NotFound&) {
    throw NotFound("study '" + name_ + "' has no trial number " + std::to_string(trial_number));
  }
  flush_reports(trial_id);  // the stored trial must hold every reported value
  FrozenTrial stored = storage_->trial(trial_id);
  check_not_finished(stored);
  return finish(trial_id, stored, state, values, fail_reason);
}

FrozenTrial Study::run_trial(const std::function<ObjectiveValues(Trial&)>& objective,
                             bool stop_on_error) {
  fail_stale_trials();  // as Optuna's _run_trial, before asking (a retry may be claimed)
  std::optional<Trial> trial = ask_impl(/*always=*/false);
  if (!trial) return {};  // trial_id -1: the sampler is exhausted
  detail::HeartbeatScope heartbeat(shared_->heartbeat.get(), trial->trial_id());
  ObjectiveValues values;
  TrialState state = TrialState::kComplete;
  std::string reason;
  std::exception_ptr error;
  try {
    values = objective(*trial);
  } catch (const TrialPruned&) {
    state = TrialState::kPruned;
  } catch (const TrialInterrupted& e) {
    state = TrialState::kFail;
    reason = e.what();
    storage_->set_trial_system_attr(trial->trial_id(), "knob:interrupted", true);
  } catch (const std::exception& e) {
    state = TrialState::kFail;
    reason = e.what();
    if (stop_on_error) error = std::current_exception();
  } catch (...) {
    state = TrialState::kFail;
    reason = "the objective threw a non-standard exception";
    if (stop_on_error) error = std::current_exception();
  }
  heartbeat.stop();  // before the trial is told, as in Optuna
  if (shared_->heartbeat) {
    // Another worker may have failed it as stale meanwhile (this one stalled past the grace
    // period): that verdict stands, and this worker goes on (Optuna would raise here).
    FrozenTrial stored = storage_->trial(trial->trial_id());
    if (is_finished(stored.state)) {
      std::lock_guard<std::mutex> lock(shared_->reports_mutex);
      shared_->unsaved_reports.erase(trial->trial_id());  // a finished trial takes no writes
      return stored;
    }
  }
  FrozenTrial done = finish(trial->trial_id(), trial->snapshot(), state, values, reason);
  if (error) std::rethrow_exception(error);
  return done;
}

void Study::run_optimize(const std::function<ObjectiveValues(Trial&)>& objective,
                         const OptimizeOptions& options) {
  int n_jobs = options.n_jobs();
  if (n_jobs == -1) n_jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  KNOB_CHECK(n_jobs >= 1, "n_jobs", options.n_jobs(), "must be >= 1 (or -1 for every core)");
  if (options.n_trials()) {
    KNOB_CHECK(*options.n_trials() >= 0, "n_trials", *options.n_trials(), "must be >= 0");
  }
  if (options.timeout()) {
    KNOB_CHECK(*options.timeout() >= 0, "timeout", *options.timeout(), "must be >= 0 seconds");
  }
  shared_->stop_requested = false;
  std::optional<double> best;
  if (!is_multi_objective()) {
    for (const auto& t : trials({TrialState::kComplete})) {
      if (t.values.size() == 1 && (!best || better(t.values[0], *best, directions_[0]))) {
        best = t.values[0];
      }
    }
  }
  Progress progress(options.show_progress(), options.n_trials(), directions_[0], best);
  const TimePoint start = now();
  std::atomic<int64_t> started{0};
  std::mutex error_mutex;
  std::exception_ptr first_error;

  auto worker = [&] {
    while (!shared_->stop_requested && !shared_->interrupt_requested) {
      if (options.n_trials() && started.fetch_add(1) >= *options.n_trials()) break;
      if (options.timeout() && seconds_between(start, now()) >= *options.timeout()) break;
      try {
        if (options.keep_going() && !options.keep_going()(*this)) break;
        FrozenTrial done = run_trial(objective, options.stop_on_error());
        if (done.trial_id < 0) {  // nothing left to sample
          shared_->stop_requested = true;
          break;
        }
        progress.trial_finished(done, !is_multi_objective());
        for (const auto& callback : options.callbacks()) callback(*this, done);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        shared_->stop_requested = true;
      }
    }
  };
  if (n_jobs == 1) {
    worker();
  } else {
    // A thread that cannot start (too many threads, no memory for its stack) stops the
    // study: the threads already running finish their trials and are joined, so no trial is
    // left RUNNING and no thread is destroyed unjoined (std::terminate).
    std::vector<std::thread> threads;
    std::string start_error;
    for (int i = 0; i < n_jobs && start_error.empty(); ++i) {
      try {
        threads.emplace_back(worker);
      } catch (const std::exception& e) {  // std::system_error, or bad_alloc for its state
        start_error = "could not start thread " + std::to_string(i + 1) + " of " +
                      std::to_string(n_jobs) + " (" + e.what() + ")";
        shared_->stop_requested = true;
      }
    }
    for (auto& thread : threads) thread.join();
    if (!start_error.empty()) {  // the cause, also of what the running trials then met
      throw_invalid("n_jobs", n_jobs,
                    start_error + "; the trials that had started finished; use fewer jobs");
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

bool Study::enqueue_trial(const std::map<std::string, ParamValue>& params,
                          const std::map<std::string, Json>& user_attrs, bool skip_if_exists) {
  if (skip_if_exists && params_repeat_a_trial(params, trials())) return false;
  FrozenTrial templ = waiting_trial(params);
  templ.user_attrs = user_attrs;
  storage_->create_trial(study_id_, &templ);
  return true;
}

bool Study::enqueue_trials_once(const std::string& once_key,
                                const std::vector<std::map<std::string, ParamValue>>& params) {
  std::vector<FrozenTrial> templates;
  for (const auto& p : params) templates.push_back(waiting_trial(p));
  return storage_->create_trials_once(study_id_, once_key, templates);
}

void Study::add_trial(const FrozenTrial& trial) { add_trials({trial}); }

void Study::add_trials(const std::vector<FrozenTrial>& trials_to_add) {
  std::map<std::string, Distribution> known = trial_distributions(trials());
  std::vector<FrozenTrial> ready;
  for (size_t i = 0; i < trials_to_add.size(); ++i) {
    FrozenTrial t = trials_to_add[i];
    check_trial_to_add(t, directions_, known, "trials[" + std::to_string(i) + "]");
    for (const auto& [name, d] : t.distributions) known.insert_or_assign(name, d);
    const TimePoint time = now();
    if (!t.datetime_start) t.datetime_start = t.datetime_complete.value_or(time);
    if (!t.datetime_complete) t.datetime_complete = time;
    ready.push_back(std::move(t));
  }
  for (const auto& t : ready) storage_->create_trial(study_id_, &t);
}

std::vector<int64_t> Study::enqueue_interrupted_trials() {
  std::set<int64_t> retried;
  std::vector<const FrozenTrial*> interrupted;
  const std::vector<FrozenTrial> all = trials();
  for (const auto& t : all) {
    if (auto it = t.system_attrs.find("knob:retry_of");
        it != t.system_attrs.end() && it->second.is_number_integer()) {
      retried.insert(it->second.get<int64_t>());
    }
    if (t.state == TrialState::kFail && t.system_attrs.count("knob:interrupted")) {
      interrupted.push_back(&t);
    }
  }
  std::vector<int64_t> numbers;
  for (const FrozenTrial* t : interrupted) {
    if (retried.count(t->number)) continue;
    FrozenTrial templ = waiting_trial(t->params());
    templ.system_attrs["knob:retry_of"] = t->number;
    storage_->create_trial(study_id_, &templ);
    numbers.push_back(t->number);
  }
  return numbers;
}

std::vector<int64_t> Study::fail_stale_trials() {
  if (!shared_->heartbeat) return {};
  std::vector<int64_t> numbers;
  for (int64_t trial_id : storage_->fail_stale_trials(study_id_, shared_->grace_period)) {
    numbers.push_back(storage_->trial(trial_id).number);
  }
  if (!shared_->max_retry) return numbers;
  // Retry every stale failure not retried yet, this call's and any whose retry was lost.
  const std::vector<FrozenTrial> all = trials();
  std::set<int64_t> retried;  // a retry's "retry_history" lists the chain it continues
  for (const auto& t : all) {
    if (auto it = t.system_attrs.find("retry_history");
        it != t.system_attrs.end() && it->second.is_array()) {
      for (const Json& n : it->second) {
        if (n.is_number_integer()) retried.insert(n.get<int64_t>());
      }
    }
  }
  for (const auto& t : all) {
    if (failed_as_stale(t) && !retried.count(t.number)) enqueue_retry(t);
  }
  return numbers;
}

// Optuna's RetryFailedTrialCallback: the copy keeps the params, user attrs and system attrs
// (so a retry of a retry keeps "failed_trial" = the first number) and extends "retry_history".
void Study::enqueue_retry(const FrozenTrial& failed) {
  if (!shared_->max_retry) return;
  Json history = Json::array();
  if (auto it = failed.system_attrs.find("retry_history");
      it != failed.system_attrs.end() && it->second.is_array()) {
    history = it->second;
  }
  history.push_back(failed.number);
  if (history.size() > static_cast<size_t>(*shared_->max_retry)) return;
  FrozenTrial templ;
  templ.state = TrialState::kWaiting;
  templ.internal_params = failed.internal_params;
  templ.distributions = failed.distributions;
  templ.user_attrs = failed.user_attrs;
  templ.system_attrs = failed.system_attrs;
  templ.system_attrs.erase("fail_reason");  // the retry has not failed
  templ.system_attrs.emplace("failed_trial", failed.number);
  templ.system_attrs["retry_history"] = std::move(history);
  storage_->create_trials_once(study_id_, "knob:retry:" + std::to_string(failed.number), {templ});
}

std::vector<FrozenTrial> Study::trials(const std::vector<TrialState>& states) {
  return trial_cache_->trials(states);
}

FrozenTrial Study::best_trial() {
  StudyDirection d = direction();
  std::optional<FrozenTrial> best;
  bool any_complete = false;
  for (auto& t : trials({TrialState::kComplete})) {
    any_complete = true;
    if (t.values.size() == 1 && is_feasible(t) &&
        (!best || better(t.values[0], best->values[0], d))) {
      best = std::move(t);
    }
  }
  if (!best && any_complete) {
    throw Error("study '" + name_ + "' has no feasible COMPLETE trial yet (every one violates " +
                "its constraints)");
  }
  if (!best) throw Error("study '" + name_ + "' has no COMPLETE trial yet");
  return *best;
}

std::vector<FrozenTrial> Study::best_trials() {
  std::vector<FrozenTrial> complete = trials({TrialState::kComplete});
  std::erase_if(complete, [](const FrozenTrial& t) { return !is_feasible(t); });
  std::vector<FrozenTrial> front;
  for (const auto& candidate : complete) {
    if (candidate.values.size() != directions_.size()) continue;
    bool dominated = false;
    for (const auto& other : complete) {
      if (other.values.size() == directions_.size() &&
          dominates(other.values, candidate.values, directions_)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(candidate);
  }
  return front;
}

void Study::set_user_attr(const std::string& key, const Json& value) {
  storage_->set_study_user_attr(study_id_, key, value);
}

std::map<std::string, Json> Study::user_attrs() { return storage_->study_user_attrs(study_id_); }

// ---------------------------------------------------------------- free functions

namespace {

std::shared_ptr<Storage> storage_of(const StudyOptions& options) {
  return options.storage_instance() ? options.storage_instance() : open_storage(options.storage());
}

}  // namespace

Study create_study(const StudyOptions& options) {
  auto storage = storage_of(options);
  std::string name = options.study_name().empty() ? unique_study_name() : options.study_name();
  int64_t study_id;
  try {
    study_id = storage->create_study(name, options.directions());
  } catch (const AlreadyExists&) {
    if (!options.load_if_exists()) throw;
    study_id = storage->study_id_from_name(name);
  }
  return Study(storage, study_id, options.sampler(), options.pruner(), options);
}

Study load_study(const StudyOptions& options) {
  KNOB_CHECK(!options.study_name().empty(), "study_name", options.study_name(),
             "must name an existing study");
  auto storage = storage_of(options);
  return Study(storage, storage->study_id_from_name(options.study_name()), options.sampler(),
               options.pruner(), options);
}

void delete_study(const std::string& study_name, const std::string& storage_url) {
  auto storage = open_storage(storage_url);
  storage->delete_study(storage->study_id_from_name(study_name));
}

std::vector<StudySummary> get_all_study_summaries(const std::string& storage_url) {
  return open_storage(storage_url)->all_studies();
}

}  // namespace knob
