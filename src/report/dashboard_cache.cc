#include "knob/report/dashboard_cache.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "knob/core/error.h"
#include "knob/report/study_tables.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/importance/importance.h"
#include "knob/tuner/study.h"
#include "report/dashboard_json.h"

namespace knob {
namespace {

using Clock = std::chrono::steady_clock;
using detail::dump_json;

constexpr TrialState kAllStates[] = {TrialState::kRunning, TrialState::kWaiting,
                                     TrialState::kComplete, TrialState::kPruned, TrialState::kFail};

// At most this many COMPLETE trials (the latest) go into the importance the study page shows:
// fANOVA costs ~0.13 s of CPU for 1,000 trials and ~1.8 s for 10,000 here.
constexpr size_t kImportanceTrials = 1000;

// The fields of study_header: what the studies list shows of each study.
constexpr const char* kListedFields[] = {"name",   "directions", "n_trials",
                                         "counts", "best",       "last_update"};

// The study's fields shared by the studies list and the study page; `summary` is filled.
Json study_header(const std::string& name, const std::vector<StudyDirection>& directions,
                  const std::vector<FrozenTrial>& trials, StudySummary& summary) {
  summary.directions = directions;
  summarize_trials(trials, summary);
  Json counts = Json::object();
  for (TrialState s : kAllStates) {
    auto it = summary.trial_counts.find(s);
    counts[to_string(s)] = it == summary.trial_counts.end() ? 0 : it->second;
  }
  std::optional<TimePoint> last;
  for (const auto& t : trials) {
    for (const auto& time : {t.datetime_start, t.datetime_complete}) {
      if (time && (!last || *time > *last)) last = time;
    }
  }
  Json out = Json::object();
  out["name"] = name;
  out["directions"] = detail::directions_json(directions);
  out["n_trials"] = static_cast<int64_t>(trials.size());
  out["counts"] = std::move(counts);
  // The best feasible COMPLETE trial (the first of ties), as Study::best_trial finds it:
  // a trial that breaks its constraints is never the best.
  summary.best_trial.reset();
  if (directions.size() == 1) {
    const bool maximize = directions[0] == StudyDirection::kMaximize;
    for (const auto& t : trials) {
      if (t.state != TrialState::kComplete || t.values.size() != 1 || !is_feasible(t)) continue;
      if (!summary.best_trial || (maximize ? t.values[0] > summary.best_trial->values[0]
                                           : t.values[0] < summary.best_trial->values[0])) {
        summary.best_trial = t;
      }
    }
  }
  out["best"] = summary.best_trial ? Json{{"number", summary.best_trial->number},
                                          {"values", summary.best_trial->values}}
                                   : Json(nullptr);
  out["last_update"] = last ? Json(format_datetime(*last)) : Json(nullptr);
  return out;
}

// The numbers of the best feasible COMPLETE trials: the single best (the first of ties, as
// summarize_trials finds it), or the Pareto front (quadratic: computed when COMPLETE trials
// changed, see StudyState).
Json best_trial_numbers(const std::vector<FrozenTrial>& trials,
                        const std::vector<StudyDirection>& directions) {
  Json out = Json::array();
  for (const FrozenTrial* t : pareto_front(trials, directions)) {
    out.push_back(t->number);
    if (directions.size() == 1) break;  // the first of ties
  }
  return out;
}

// The latest kImportanceTrials COMPLETE trials of `trials` (ordered by number), in order.
std::vector<FrozenTrial> latest_complete(const std::vector<FrozenTrial>& trials) {
  std::vector<FrozenTrial> complete;
  for (auto t = trials.rbegin(); t != trials.rend() && complete.size() < kImportanceTrials; ++t) {
    if (t->state == TrialState::kComplete) complete.push_back(*t);
  }
  std::reverse(complete.begin(), complete.end());
  return complete;
}

// fANOVA parameter importance (seed 0, so a page shows the same bars on every refresh) of a
// single-objective study over `complete` (latest_complete): {"evaluator", "n_trials" (COMPLETE
// trials used), "params": [{"name", "importance"}, ...] largest first, "reason": null}, or
// "params": null and the reason it cannot be computed.
Json importance_json(const std::vector<FrozenTrial>& complete, size_t n_objectives) {
  const auto evaluator = ImportanceEvaluator::kFanova;
  Json out = {{"evaluator", importance_evaluator_name(evaluator)},
              {"n_trials", complete.size()},
              {"params", nullptr},
              {"reason", nullptr}};
  if (n_objectives != 1) {
    out["reason"] = "multi-objective study: run knob importance --objective N for one objective";
    return out;
  }
  try {
    auto importances =
        param_importances(complete, ImportanceOptions().evaluator(evaluator).seed(0));
    if (importances.empty()) {
      out["reason"] = "no parameter takes more than one value";
      return out;
    }
    Json params = Json::array();
    for (const auto& [name, importance] : importances) {
      params.push_back({{"name", name}, {"importance", importance}});
    }
    out["params"] = std::move(params);
  } catch (const InvalidArgument& e) {
    out["reason"] = e.what();
  }
  return out;
}

}  // namespace

// One study as last read. Its trials are refreshed as TrialCache does (new ids, and the ids
// last seen unfinished), with one more id asked for: that of the first finished trial read,
// the anchor. SQLite reuses the largest ids after a delete, so a study deleted and made again
// under its name may come back with the same study id and the same trial ids; the anchor then
// comes back different (or not at all), as does any unfinished trial that vanished, and the
// study is read anew.
struct DashboardCache::StudyState {
  StudyState(std::string n, int64_t id, std::vector<StudyDirection> d, bool distributions)
      : name(std::move(n)),
        study_id(id),
        directions(std::move(d)),
        with_distributions(distributions) {}

  std::mutex mutex;  // guards everything below
  const std::string name;
  const int64_t study_id;
  const std::vector<StudyDirection> directions;
  const bool with_distributions;    // in each trial's text
  std::vector<FrozenTrial> trials;  // ordered by number
  std::vector<std::string> texts;   // text(trials[i])
  std::set<int64_t> unfinished_ids;
  int64_t max_trial_id = -1;
  int64_t anchor_id = -1;  // the first finished trial read; its text is anchor_text
  std::string anchor_text;
  uint64_t version = 0;  // counts the changes to `trials` (a trial new or with a new text)
  // The study's fields but "user_attrs", "importance" and "trials", made at header_version.
  Json header;
  uint64_t header_version = ~uint64_t{0};
  // Derived from the COMPLETE trials, recomputed when their count changes (finished trials
  // never change, so a new count is a new set): the best trials at once, the importance at
  // most every importance_interval seconds.
  int64_t best_complete = -1;
  Json best_trials;
  Json hypervolume;
  int64_t importance_complete = -1;
  Clock::time_point importance_time;
  Json importance;
  bool importance_busy = false;  // importance_thread is computing it
  std::thread importance_thread;
  uint64_t generation = 0;  // counts clear()s

  std::string text(const FrozenTrial& t) const {
    return dump_json(detail::dashboard_trial(t, with_distributions));
  }

  void put(FrozenTrial&& t, std::string&& text) {
    max_trial_id = std::max(max_trial_id, t.trial_id);
    if (is_finished(t.state)) {
      unfinished_ids.erase(t.trial_id);
      if (anchor_id < 0) {
        anchor_id = t.trial_id;
        anchor_text = text;
      }
    } else {
      unfinished_ids.insert(t.trial_id);
    }
    auto at = std::lower_bound(trials.begin(), trials.end(), t.number,
                               [](const FrozenTrial& a, int64_t n) { return a.number < n; });
    size_t i = at - trials.begin();
    if (at != trials.end() && at->number == t.number) {
      if (texts[i] != text) ++version;  // else: an unfinished trial read again, as it was
      trials[i] = std::move(t);
      texts[i] = std::move(text);
    } else {
      ++version;
      trials.insert(at, std::move(t));
      texts.insert(texts.begin() + i, std::move(text));
    }
  }

  // Forgets every trial: the study is read anew at the next refresh.
  void clear() {
    trials.clear();
    texts.clear();
    unfinished_ids.clear();
    max_trial_id = anchor_id = best_complete = importance_complete = -1;
    anchor_text.clear();
    best_trials = importance = hypervolume = nullptr;
    ++generation;
    ++version;
  }

  // Whether `changed`, read for the ids `listed`, still comes from the study read before: a
  // trial leaves its study only with the study, and a finished one never changes.
  bool same_study(const std::vector<FrozenTrial>& changed,
                  const std::vector<int64_t>& listed) const {
    for (int64_t id : listed) {
      auto t = std::find_if(changed.begin(), changed.end(),
                            [id](const FrozenTrial& x) { return x.trial_id == id; });
      if (t == changed.end()) return false;
      if (id == anchor_id && text(*t) != anchor_text) return false;
    }
    return true;
  }

  // Reads what changed since the last refresh: everything the first time and after the study
  // was made again.
  void refresh(Storage& storage) {
    std::vector<int64_t> listed(unfinished_ids.begin(), unfinished_ids.end());
    if (anchor_id >= 0) listed.push_back(anchor_id);
    std::vector<FrozenTrial> changed = storage.trials_since(study_id, max_trial_id, listed);
    if (!same_study(changed, listed)) {
      clear();
      changed = storage.trials_since(study_id, -1, {});
    }
    for (FrozenTrial& t : changed) {
      std::string t_text = text(t);
      put(std::move(t), std::move(t_text));
    }
  }

  int64_t n_complete() const {
    return std::count_if(trials.begin(), trials.end(),
                         [](const FrozenTrial& t) { return t.state == TrialState::kComplete; });
  }

  // The header as of the trials now: remade after a trial changed.
  const Json& current_header() {
    if (header_version == version) return header;
    StudySummary summary;
    Json out = study_header(name, directions, trials, summary);
    std::map<std::string, const Distribution*> distributions;  // the latest of each name
    for (const auto& t : trials) {
      for (const auto& [param, d] : t.distributions) distributions[param] = &d;
    }
    Json params = Json::array();
    for (const auto& [param, d] : distributions) {
      params.push_back({{"name", param}, {"distribution", loads(distribution_to_json(*d))}});
    }
    out["params"] = std::move(params);
    const int64_t complete = n_complete();
    if (best_complete != complete) {
      best_trials = best_trial_numbers(trials, directions);
      hypervolume = detail::hypervolume_json(trials, directions);
      best_complete = complete;
    }
    out["best_trials"] = best_trials;
    out["hypervolume"] = hypervolume;
    header = std::move(out);
    header_version = version;
    return header;
  }

  // Recomputes the importance once the COMPLETE trials changed and `interval` seconds passed
  // since the last time. The first computation is done here, holding the mutex (the first page
  // shows it); later ones on a thread of their own, off the request path: meanwhile requests
  // get the previous importance. `lock` holds `mutex`.
  void update_importance(std::unique_lock<std::mutex>& lock, double interval) {
    assert(lock.owns_lock());
    const int64_t n = n_complete();
    const auto now = Clock::now();
    if (n == importance_complete || importance_busy ||
        (!importance.is_null() &&
         std::chrono::duration<double>(now - importance_time).count() < interval)) {
      return;
    }
    std::vector<FrozenTrial> complete = latest_complete(trials);
    if (importance.is_null()) {
      set_importance(importance_json(complete, directions.size()), n, now);
      return;
    }
    // Not busy, so the last thread has set importance_busy under the mutex and is ending.
    if (importance_thread.joinable()) importance_thread.join();
    importance_busy = true;
    importance_thread =
        std::thread([this, complete = std::move(complete), n, now, read = generation] {
          Json computed;
          try {
            computed = importance_json(complete, directions.size());
          } catch (const std::exception&) {
            computed = nullptr;  // kept: the previous one, tried again after the next change
          }
          std::lock_guard<std::mutex> guard(mutex);
          importance_busy = false;
          if (generation == read && !computed.is_null())
            set_importance(std::move(computed), n, now);
        });
  }

  void set_importance(Json value, int64_t n, Clock::time_point at) {
    importance = std::move(value);
    importance_complete = n;
    importance_time = at;
  }

  // Joins the importance thread. Never runs with `mutex` held: every holder of the mutex also
  // holds a reference to this state (see study_text).
  ~StudyState() {
    if (importance_thread.joinable()) importance_thread.join();
  }
};

DashboardCache::DashboardCache(std::shared_ptr<Storage> storage,
                               const DashboardCacheOptions& options)
    : storage_(std::move(storage)), options_(options) {
  assert(storage_);
  KNOB_CHECK(std::isfinite(options.importance_interval()) && options.importance_interval() >= 0,
             "importance_interval", options.importance_interval(),
             "must be a number of seconds >= 0 (0: recompute after every change)");
}

DashboardCache::~DashboardCache() { stop_refreshing(); }

std::shared_ptr<DashboardCache::StudyState> DashboardCache::refreshed(
    const std::string& study_name, std::unique_lock<std::mutex>& lock, int64_t known_id) {
  std::shared_ptr<StudyState> state;
  try {
    const int64_t id = known_id >= 0 ? known_id : detail::find_study_id(*storage_, study_name);
    std::vector<StudyDirection> directions = storage_->study_directions(id);
    {
      std::lock_guard<std::mutex> guard(mutex_);
      std::shared_ptr<StudyState>& slot = studies_[study_name];
      if (!slot || slot->study_id != id || slot->directions != directions) {
        slot = std::make_shared<StudyState>(study_name, id, std::move(directions),
                                            options_.trial_distributions());
      }
      state = slot;
    }
    lock = std::unique_lock<std::mutex>(state->mutex);
    state->refresh(*storage_);
  } catch (const NotFound&) {
    if (lock.owns_lock()) lock.unlock();  // `state` may be the last reference to its mutex
    std::lock_guard<std::mutex> guard(mutex_);
    studies_.erase(study_name);
    throw;
  }
  return state;
}

std::string DashboardCache::study_text(const std::string& study_name,
                                       const std::vector<TrialState>& states, int64_t from_number) {
  std::shared_ptr<StudyState> state;  // declared before the lock: outlives it
  std::unique_lock<std::mutex> lock;
  state = refreshed(study_name, lock);
  StudyState& s = *state;
  s.update_importance(lock, options_.importance_interval());
  Json out = s.current_header();
  out["user_attrs"] = Json(storage_->study_user_attrs(s.study_id));
  out["importance"] = s.importance;

  // The trials' texts, cached, joined: the object's text without its closing brace, then
  // "trials".
  std::string text = dump_json(out);
  assert(!text.empty() && text.back() == '}');
  text.pop_back();
  auto first = std::lower_bound(s.trials.begin(), s.trials.end(), from_number,
                                [](const FrozenTrial& t, int64_t n) { return t.number < n; });
  size_t size = text.size() + 16;
  for (size_t i = first - s.trials.begin(); i < s.trials.size(); ++i) size += s.texts[i].size() + 1;
  text.reserve(size);
  text += ",\"trials\":[";
  bool empty = true;
  for (size_t i = first - s.trials.begin(); i < s.trials.size(); ++i) {
    if (!states.empty() &&
        std::find(states.begin(), states.end(), s.trials[i].state) == states.end()) {
      continue;
    }
    if (!empty) text += ',';
    text += s.texts[i];
    empty = false;
  }
  text += "]}";
  return text;
}

Json DashboardCache::studies() {
  Json out = Json::array();
  for (const auto& [id, name] : storage_->study_names()) {
    try {
      std::shared_ptr<StudyState> s;  // declared before the lock: outlives it
      std::unique_lock<std::mutex> lock;
      s = refreshed(name, lock, id);
      const Json& header = s->current_header();
      Json row = Json::object();
      for (const char* key : kListedFields) row[key] = header.at(key);
      out.push_back(std::move(row));
    } catch (const NotFound&) {
      continue;  // deleted meanwhile
    }
  }
  return out;
}

void DashboardCache::refresh_all() {
  std::set<std::string> listed;
  for (const auto& [id, name] : storage_->study_names()) {
    listed.insert(name);
    try {
      std::shared_ptr<StudyState> s;  // declared before the lock: outlives it
      std::unique_lock<std::mutex> lock;
      s = refreshed(name, lock, id);
      s->update_importance(lock, options_.importance_interval());
      s->current_header();
    } catch (const NotFound&) {
      continue;  // deleted meanwhile
    }
  }
  std::lock_guard<std::mutex> guard(mutex_);
  for (auto it = studies_.begin(); it != studies_.end();) {
    it = listed.count(it->first) ? std::next(it) : studies_.erase(it);
  }
}

void DashboardCache::start_refreshing(double interval_seconds) {
  KNOB_CHECK(std::isfinite(interval_seconds) && interval_seconds > 0, "interval_seconds",
             interval_seconds, "must be a number of seconds > 0");
  std::lock_guard<std::mutex> guard(refresher_mutex_);
  if (refresher_.joinable()) return;
  stopping_ = false;
  refresher_ = std::thread([this, interval = std::chrono::duration<double>(interval_seconds)] {
    std::unique_lock<std::mutex> lock(refresher_mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        refresh_all();
      } catch (const std::exception&) {
        // A storage error (busy, gone for a moment): the next round or a request tries again.
      }
      ++rounds_;
      lock.lock();
      refresher_wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void DashboardCache::stop_refreshing() {
  std::thread ending;
  {
    std::lock_guard<std::mutex> guard(refresher_mutex_);
    stopping_ = true;
    ending = std::move(refresher_);
  }
  refresher_wake_.notify_all();
  if (ending.joinable()) ending.join();
}

}  // namespace knob
