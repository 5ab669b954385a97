#include "knob/run/pbt_study.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "knob/core/error.h"
#include "knob/run/command_template.h"
#include "knob/storage/open_storage.h"
#include "knob/train/task.h"

namespace knob::run {
namespace {

namespace fs = std::filesystem;

// Thrown by the epoch callback at a segment's last epoch: the trainer saved the checkpoint.
struct EndOfSegment {};

const char* const kMember = "pbt:member";
const char* const kGeneration = "pbt:generation";
const char* const kParent = "pbt:parent";
const char* const kCopiedFrom = "pbt:copied_from";
const char* const kFirstEpoch = "pbt:first_epoch";
const char* const kLrs = "pbt:lrs";
const char* const kStopped = "pbt:stopped";
const char* const kInterrupted = "pbt:interrupted";
const char* const kTrainSeed = "pbt:train_seed";

int64_t generations(const PbtPlan& plan) {
  return (plan.base.train.epochs + plan.pbt.interval - 1) / plan.pbt.interval;
}

int64_t first_epoch_of(const PbtPlan& plan, int64_t generation) {
  return generation * plan.pbt.interval;
}

int64_t end_epoch_of(const PbtPlan& plan, int64_t generation) {
  return std::min((generation + 1) * plan.pbt.interval, plan.base.train.epochs);
}

std::string checkpoint_path(const PbtPlan& plan, int64_t number) {
  return (fs::path(plan.checkpoint_dir) / ("trial-" + std::to_string(number) + ".ckpt")).string();
}

int64_t int_attr(const FrozenTrial& t, const char* key, int64_t otherwise) {
  auto it = t.user_attrs.find(key);
  if (it == t.user_attrs.end() || !it->second.is_number_integer()) return otherwise;
  return it->second.get<int64_t>();
}

// A segment as a WAITING trial: its knobs as params, who it is as user attributes.
FrozenTrial waiting_segment(const PbtSegment& s, const PbtPlan& plan, uint64_t train_seed) {
  FrozenTrial t;
  t.state = TrialState::kWaiting;
  for (const auto& [name, value] : s.params) {
    const Distribution& d = plan.distributions.at(name);
    t.distributions.emplace(name, d);
    t.internal_params[name] = to_internal(d, value);
  }
  t.user_attrs[kMember] = s.member;
  t.user_attrs[kGeneration] = s.generation;
  t.user_attrs[kParent] = s.parent < 0 ? Json(nullptr) : Json(s.parent);
  t.user_attrs[kCopiedFrom] = s.copied_from;
  t.user_attrs[kFirstEpoch] = s.first_epoch;
  t.user_attrs[kTrainSeed] = train_seed;
  return t;
}

uint64_t train_seed_of(const FrozenTrial& t) {
  auto it = t.user_attrs.find(kTrainSeed);
  return it != t.user_attrs.end() && it->second.is_number_unsigned() ? it->second.get<uint64_t>()
                                                                     : 0;
}

// Records a trial's heartbeat every interval until destroyed.
class SegmentHeartbeat {
 public:
  SegmentHeartbeat(Storage& storage, int64_t trial_id, double seconds) {
    if (seconds <= 0) return;
    thread_ = std::thread([this, &storage, trial_id, seconds] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!stop_) {
        wake_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stop_; });
        if (stop_) break;
        try {
          storage.record_heartbeat(trial_id);
        } catch (const std::exception&) {  // a missed beat
        }
      }
    });
  }
  ~SegmentHeartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  SegmentHeartbeat(const SegmentHeartbeat&) = delete;
  SegmentHeartbeat& operator=(const SegmentHeartbeat&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

void log_line(const PbtPlan& plan, const std::string& text) {
  if (!plan.log) return;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  *plan.log << "[knob] pbt: " << text << "\n";
}

// Trains the claimed segment `trial_id` and tells it.
void run_segment(Study& study, const PbtPlan& plan, const FitFunction& fit, int64_t trial_id,
                 double heartbeat_seconds) {
  SegmentHeartbeat heartbeat(study.storage(), trial_id, heartbeat_seconds);
  Trial trial(study, trial_id);
  const FrozenTrial& t = trial.snapshot();
  const int64_t member = int_attr(t, kMember, -1);
  const int64_t generation = int_attr(t, kGeneration, -1);
  if (member < 0 || generation < 0) {
    study.tell(trial, TrialState::kFail, {}, "not a segment of this PBT study (no pbt:member)");
    return;
  }
  const int64_t parent = int_attr(t, kParent, -1);
  const int64_t first = first_epoch_of(plan, generation);
  const int64_t end = end_epoch_of(plan, generation);
  const int64_t total = plan.base.train.epochs;
  TrainConfig c = plan.base;
  for (const auto& [name, value] : t.params()) set_config_value(c, name, value);
  c.train.seed = train_seed_of(t);
  c.checkpoint.path = checkpoint_path(plan, t.number);
  c.checkpoint.every = plan.pbt.interval;
  c.checkpoint.resume = false;
  c.output.progress = false;
  c.output.metrics.clear();
  c.output.test = false;
  std::vector<double> lrs;
  std::optional<double> last;
  std::string stopped;
  try {
    if (parent >= 0) {
      const std::string from = checkpoint_path(plan, parent);
      KNOB_CHECK(fs::exists(from), "study.pbt.checkpoint_dir", plan.checkpoint_dir,
                 "must hold the parent segment's checkpoint " + from +
                     " (a directory every worker shares)");
      fs::copy_file(from, c.checkpoint.path, fs::copy_options::overwrite_existing);
      c.checkpoint.resume = true;
    }
    try {
      TrainResult r = fit(c, [&](const EpochMetrics& e) {
        if (e.epoch < first) return;  // replayed from the checkpoint
        const double value = epoch_metric(e, plan.metric);
        trial.report(value, e.epoch);
        lrs.push_back(e.lr);
        last = value;
        if (e.epoch + 1 >= end && end < total) throw EndOfSegment{};
      });
      if (r.stop_reason != "completed" && (lrs.empty() || first + std::ssize(lrs) < end)) {
        stopped = r.stop_reason;
      }
    } catch (const EndOfSegment&) {
    }
  } catch (const TrialInterrupted&) {  // Ctrl-C: run again, by this process or another
    trial.set_user_attr(kInterrupted, true);
    study.tell(trial, TrialState::kFail, {}, "interrupted");
    return;
  } catch (const std::exception& e) {
    log_line(plan, "member " + std::to_string(member) + " (trial " + std::to_string(t.number) +
                       ") failed: " + e.what());
    study.tell(trial, TrialState::kFail, {}, e.what());
    return;
  }
  trial.set_user_attr(kLrs, Json(lrs));
  if (!stopped.empty()) trial.set_user_attr(kStopped, stopped);
  if (!last) {
    study.tell(trial, TrialState::kFail, {}, "the trainer reported no epoch");
    return;
  }
  FrozenTrial told = study.tell(trial, TrialState::kComplete, {*last});
  log_line(plan, "member " + std::to_string(member) + " generation " + std::to_string(generation) +
                     " (trial " + std::to_string(t.number) + ", epochs " + std::to_string(first) +
                     "-" + std::to_string(first + std::ssize(lrs) - 1) + "): " + plan.metric + " " +
                     dumps(Json(*last)) + (told.state == TrialState::kComplete ? "" : " (failed)"));
}

// Enqueues once a copy of each interrupted segment that has none yet (same member, generation,
// parent and knobs); returns whether some segment needed one (then the caller looks again).
bool requeue_interrupted(Study& study, const PbtPlan& plan,
                         const std::vector<PbtSegment>& segments) {
  bool any = false;
  for (const auto& s : segments) {
    if (!s.interrupted) continue;
    const bool retried = std::any_of(segments.begin(), segments.end(), [&](const PbtSegment& o) {
      return o.number > s.number && o.member == s.member && o.generation == s.generation;
    });
    if (retried) continue;
    any = true;
    study.storage().create_trials_once(study.study_id(),
                                       "knob:pbt:retry:" + std::to_string(s.number),
                                       {waiting_segment(s, plan, s.train_seed)});
  }
  return any;
}

// Enqueues the next generation after the latest finished one, if no worker did; returns whether
// this call did.
bool advance(Study& study, const PbtPlan& plan, const std::vector<PbtSegment>& segments) {
  int64_t latest = -1;
  for (const auto& s : segments) latest = std::max(latest, s.generation);
  if (latest < 0 || latest + 1 >= generations(plan)) return false;
  const std::vector<PbtSegment> next = next_generation(segments, plan, latest);
  if (next.empty()) return false;
  // The train seeds follow the parents' (a checkpoint loads under its own seed only).
  std::map<int64_t, uint64_t> seeds;
  for (const auto& p : segments) seeds[p.number] = p.train_seed;
  std::vector<FrozenTrial> templates;
  for (const auto& s : next) templates.push_back(waiting_segment(s, plan, seeds[s.parent]));
  const bool created = study.storage().create_trials_once(
      study.study_id(), "knob:pbt:generation:" + std::to_string(latest + 1), templates);
  if (created) {
    std::string copies;
    for (const auto& s : next) {
      if (s.copied_from != s.member) {
        copies += " " + std::to_string(s.member) + "<-" + std::to_string(s.copied_from);
      }
    }
    log_line(plan, "generation " + std::to_string(latest + 1) + ": " + std::to_string(next.size()) +
                       " members" + (copies.empty() ? "" : ", copies" + copies));
  }
  return created;
}

// Every member finished its last segment or dropped out.
bool finished(const std::vector<PbtSegment>& segments, const PbtPlan& plan) {
  if (segments.empty()) return false;
  int64_t latest = -1;
  for (const auto& s : segments) latest = std::max(latest, s.generation);
  for (const auto& s : segments) {
    if (s.generation == latest &&
        (s.state == TrialState::kWaiting || s.state == TrialState::kRunning)) {
      return false;
    }
  }
  // The latest generation finished: the last one, or none of its members goes on.
  return latest + 1 >= generations(plan) || next_generation(segments, plan, latest).empty();
}

void worker_loop(Study study, const PbtPlan& plan, const FitFunction& fit,
                 double heartbeat_seconds) {
  while (!study.interrupted()) {
    study.fail_stale_trials();
    const std::vector<PbtSegment> segments = pbt_segments(study.trials());
    if (requeue_interrupted(study, plan, segments)) continue;
    if (advance(study, plan, segments)) continue;
    if (auto id = study.storage().claim_waiting_trial(study.study_id(), study.heartbeats_on())) {
      run_segment(study, plan, fit, *id, heartbeat_seconds);
      continue;
    }
    if (finished(segments, plan)) return;
    std::this_thread::sleep_for(std::chrono::duration<double>(plan.poll_seconds));
  }
}

}  // namespace

std::string default_pbt_checkpoint_dir(const StudyConfig& config) {
  if (!config.pbt->checkpoint_dir.empty()) return config.pbt->checkpoint_dir;
  std::string name;
  for (char ch : config.name) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  const std::string file = storage_file(config.storage);
  if (!file.empty()) return (fs::path(file + ".pbt") / name).string();
  return (fs::temp_directory_path() / ("knob-pbt-" + name)).string();
}

PbtPlan make_pbt_plan(const TrainConfig& base, const StudyConfig& config,
                      const std::string& checkpoint_dir) {
  PbtPlan plan;
  plan.base = base;
  plan.pbt = *config.pbt;
  plan.seed = config.seed.value_or(0);
  plan.direction = config.directions.front();
  plan.metric = config.objectives.empty()
                    ? (base.train.objective.empty() ? "val_accuracy" : base.train.objective)
                    : config.objectives.front();
  check_epoch_metric(plan.metric, "study.objectives");
  for (const auto& p : config.search) {
    plan.distributions.emplace(p.name, p.distribution);
    MutableKnob k;
    k.key = p.name;
    if (const auto* f = std::get_if<FloatDistribution>(&p.distribution)) {
      k.low = f->low;
      k.high = f->high;
      k.log = f->log;
      k.step = f->step.value_or(0);
    } else if (const auto* i = std::get_if<IntDistribution>(&p.distribution)) {
      k.kind = KnobKind::kInt;
      k.low = static_cast<double>(i->low);
      k.high = static_cast<double>(i->high);
      k.log = i->log;
      k.step = static_cast<double>(i->step);
    } else {
      k.kind = KnobKind::kCategorical;
      k.choices = std::get<CategoricalDistribution>(p.distribution).choices;
    }
    validate_knob(k, "search." + p.name);
    plan.knobs.push_back(std::move(k));
  }
  plan.checkpoint_dir = checkpoint_dir;
  std::error_code error;  // another worker may create it at the same moment: only the end counts
  fs::create_directories(checkpoint_dir, error);
  KNOB_CHECK(fs::is_directory(checkpoint_dir) && access(checkpoint_dir.c_str(), W_OK) == 0,
             "study.pbt.checkpoint_dir", checkpoint_dir,
             "must be a directory knob can create and write");
  return plan;
}

bool enqueue_first_generation(Study& study, const PbtPlan& plan) {
  std::vector<FrozenTrial> templates;
  for (int64_t m = 0; m < plan.pbt.population; ++m) {
    Rng rng(pbt_seed(plan.seed, 0, m));
    PbtSegment s;
    s.member = m;
    s.generation = 0;
    s.copied_from = m;
    s.params = sample_knobs(plan.knobs, rng);
    templates.push_back(waiting_segment(s, plan, plan.base.train.seed + static_cast<uint64_t>(m)));
  }
  return study.storage().create_trials_once(study.study_id(), "knob:pbt:generation:0", templates);
}

std::vector<PbtSegment> pbt_segments(const std::vector<FrozenTrial>& trials) {
  std::vector<PbtSegment> out;
  for (const auto& t : trials) {
    PbtSegment s;
    s.member = int_attr(t, kMember, -1);
    s.generation = int_attr(t, kGeneration, -1);
    if (s.member < 0 || s.generation < 0) continue;
    s.number = t.number;
    s.parent = int_attr(t, kParent, -1);
    s.copied_from = int_attr(t, kCopiedFrom, s.member);
    s.first_epoch = int_attr(t, kFirstEpoch, 0);
    s.state = t.state;
    if (t.state == TrialState::kComplete && t.values.size() == 1) s.value = t.values[0];
    if (auto it = t.user_attrs.find(kLrs); it != t.user_attrs.end() && it->second.is_array()) {
      for (const auto& lr : it->second) {
        if (lr.is_number()) s.lrs.push_back(lr.get<double>());
      }
    }
    s.stopped = t.user_attrs.count(kStopped) > 0;
    s.train_seed = train_seed_of(t);
    s.interrupted = t.state == TrialState::kFail && t.user_attrs.count(kInterrupted) > 0;
    s.params = t.params();
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const PbtSegment& a, const PbtSegment& b) { return a.number < b.number; });
  return out;
}

std::vector<PbtSegment> next_generation(const std::vector<PbtSegment>& segments,
                                        const PbtPlan& plan, int64_t generation) {
  if (generation + 1 >= generations(plan)) return {};
  // Generation g's segments, by member; it must be finished.
  std::map<int64_t, const PbtSegment*> current;
  for (const auto& s : segments) {
    if (s.generation != generation) continue;
    if (s.state == TrialState::kWaiting || s.state == TrialState::kRunning) return {};
    current[s.member] = &s;
  }
  // The members that go on, by member number: their scores (higher is better).
  std::vector<const PbtSegment*> live;
  std::vector<double> scores;
  for (const auto& [member, s] : current) {
    if (!s->value || s->stopped) continue;
    live.push_back(s);
    scores.push_back(plan.direction == StudyDirection::kMaximize ? *s->value : -*s->value);
  }
  std::vector<PbtSegment> next;
  for (size_t i = 0; i < live.size(); ++i) {
    const PbtSegment& own = *live[i];
    Rng rng(pbt_seed(plan.seed, generation + 1, own.member));
    const int64_t source =
        choose_source(scores, static_cast<int64_t>(i), plan.pbt.quantile_fraction, rng);
    const PbtSegment& from = source < 0 ? own : *live[static_cast<size_t>(source)];
    PbtSegment s;
    s.member = own.member;
    s.generation = generation + 1;
    s.parent = from.number;
    s.copied_from = from.member;
    s.first_epoch = first_epoch_of(plan, generation + 1);
    s.params = source < 0 ? own.params
                          : explore_knobs(plan.knobs, from.params, {1.2, 0.8},
                                          plan.pbt.resample_probability, rng);
    next.push_back(std::move(s));
  }
  return next;
}

void run_pbt_workers(Study& study, const PbtPlan& plan, const FitFunction& fit, int64_t threads) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(std::max<int64_t>(1, threads)));
  auto work = [&](size_t index) {
    try {
      worker_loop(study, plan, fit, plan.heartbeat_seconds);
    } catch (...) {
      errors[index] = std::current_exception();
      study.interrupt();  // the other threads stop at their next look
    }
  };
  std::vector<std::thread> pool;
  for (size_t j = 1; j < errors.size(); ++j) pool.emplace_back(work, j);
  work(0);
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

std::optional<PbtLineage> best_lineage(const std::vector<PbtSegment>& segments,
                                       const PbtPlan& plan) {
  const int64_t last = generations(plan) - 1;
  const PbtSegment* best = nullptr;
  auto better = [&](double a, double b) {
    return plan.direction == StudyDirection::kMaximize ? a > b : a < b;
  };
  for (const auto& s : segments) {
    if (s.generation != last || !s.value) continue;
    if (!best || better(*s.value, *best->value)) best = &s;
  }
  if (!best) return std::nullopt;
  PbtLineage lineage;
  lineage.value = *best->value;
  lineage.final_params = best->params;
  std::map<int64_t, const PbtSegment*> by_number;
  for (const auto& s : segments) by_number[s.number] = &s;
  for (const PbtSegment* s = best; s;) {
    lineage.segments.insert(lineage.segments.begin(), *s);
    auto it = by_number.find(s->parent);
    s = s->parent >= 0 && it != by_number.end() ? it->second : nullptr;
  }
  for (const auto& s : lineage.segments) {
    lineage.lrs.insert(lineage.lrs.end(), s.lrs.begin(), s.lrs.end());
  }
  return lineage;
}

std::string replay_command(const std::string& config, const std::vector<std::string>& overrides,
                           const PbtLineage& lineage, bool unscale_lr) {
  std::string command = "knob train " + shell_quote(config);
  auto set = [&](const std::string& assignment) { command += " --set " + shell_quote(assignment); };
  for (const auto& o : overrides) set(o);
  for (const auto& [name, value] : lineage.final_params) {
    set(name + "=" +
        (std::holds_alternative<std::string>(value) ? dumps(Json(std::get<std::string>(value)))
                                                    : dumps(to_json(value))));
  }
  if (unscale_lr) set("batch.scale_lr=false");  // the lrs were stored scaled
  set("schedule.kind=piecewise");
  set("schedule.warmup=0");
  set("schedule.lrs=" + dumps(Json(lineage.lrs)));
  return command;
}

void print_lineage(const PbtLineage& lineage, const std::string& replay, std::ostream& out) {
  out << "best member: " << lineage.segments.back().member << " (" << dumps(Json(lineage.value))
      << " at its last epoch)\nlineage:\n";
  for (const auto& s : lineage.segments) {
    out << "  generation " << s.generation << ": trial " << s.number << ", member " << s.member;
    if (s.copied_from != s.member) out << " (copied member " << s.copied_from << ")";
    out << ", epochs " << s.first_epoch << "-" << s.first_epoch + std::ssize(s.lrs) - 1 << ", lr";
    for (double lr : s.lrs) out << " " << dumps(Json(lr));
    out << "\n";
  }
  out << "learning rate per epoch: " << dumps(Json(lineage.lrs)) << "\nreplay:\n  " << replay
      << "\n";
}

std::optional<PbtLineage> run_pbt_study(const StudyConfig& config, const TrainConfig& base,
                                        const FitFunction& fit, const PbtRunOptions& options) {
  const double heartbeat = config.heartbeat_interval.value_or(10.0);
  const double grace = config.grace_period.value_or(2 * heartbeat);
  Study study = create_study(StudyOptions()
                                 .storage(config.storage)
                                 .study_name(config.name)
                                 .directions(config.directions)
                                 .load_if_exists(true)
                                 .heartbeat_interval(heartbeat)
                                 .grace_period(grace));
  if (options.on_open) options.on_open(study);
  PbtPlan plan = make_pbt_plan(base, config, default_pbt_checkpoint_dir(config));
  plan.poll_seconds = options.poll_seconds;
  plan.heartbeat_seconds = heartbeat;
  plan.log = options.log;
  if (options.log) {
    *options.log << "[knob] pbt: study \"" << config.name << "\", " << plan.pbt.population
                 << " members, " << plan.base.train.epochs << " epochs in segments of "
                 << plan.pbt.interval << ", checkpoints in " << plan.checkpoint_dir << "\n";
  }
  enqueue_first_generation(study, plan);
  run_pbt_workers(study, plan, fit, std::max<int64_t>(1, config.jobs));
  std::optional<PbtLineage> best = best_lineage(pbt_segments(study.trials()), plan);
  if (!best) {
    *options.out << "no member finished its last epoch\n";
    return best;
  }
  print_lineage(*best,
                replay_command(options.config, options.overrides, *best, base.batch.scale_lr),
                *options.out);
  return best;
}

}  // namespace knob::run
