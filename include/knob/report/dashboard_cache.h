// DashboardCache: what the dashboard keeps between requests, so that a request costs what
// changed in the storage rather than the size of the study. Per study it holds the trials as
// last read, refreshed by Storage::trials_since (the new trials and those last seen WAITING or
// RUNNING), the JSON text of every trial (a finished trial never changes, so its text is made
// once), the study's header (counts, best trials, parameters: remade only after a trial
// changed), and the parameter importance, recomputed only after the study's COMPLETE trials
// changed and then at most once every `importance_interval` seconds, on a thread of its own
// after the first time (requests meanwhile get the previous one). A study deleted and
// made again under its name is read anew, even when SQLite gives it the old id. Thread-safe:
// the dashboard server's threads share one.
//
// Off the request path: start_refreshing() reads every study of the storage on a thread of
// its own as soon as it is called — the first open of a page finds its study read, or waits
// for the read under way instead of making another — and then again (only what changed) every
// `interval` seconds, so a request reads little more than the trials of the last second.
//
// Example:
//   knob::DashboardCache cache(knob::open_storage("sqlite:///knob.db"));
//   cache.start_refreshing(1.0);                 // optional: every study read now, off-thread
//   std::string body = cache.study_text("mlp");  // the JSON of study_json(storage, "mlp")
//   body = cache.study_text("mlp");              // reads only the new and unfinished trials
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/json.h"
#include "knob/storage/storage.h"

namespace knob {

struct DashboardCacheOptions {
  // Seconds, >= 0: the least time between two fANOVA runs for one study while its COMPLETE
  // trials keep changing (~0.1-1 s of CPU each for 1,000 trials); in between, the page shows
  // the last importance computed, with the "n_trials" it used. 0: after every change.
  KNOB_ARG(double, importance_interval) = 5.0;
  // Whether each trial of study_text keeps its "distributions" (the HTML report's trial view
  // shows them). The dashboard's study page leaves them out: each parameter's distribution is
  // in the study's "params", and the trial page asks /api/trial.
  KNOB_ARG(bool, trial_distributions) = false;
};

class DashboardCache {
 public:
  // Throws InvalidArgument naming the option for a negative or non-finite interval.
  explicit DashboardCache(std::shared_ptr<Storage> storage,
                          const DashboardCacheOptions& options = DashboardCacheOptions());
  ~DashboardCache();
  DashboardCache(const DashboardCache&) = delete;
  DashboardCache& operator=(const DashboardCache&) = delete;

  Storage& storage() { return *storage_; }

  // The JSON text of study_json(storage, study_name, states, from_number) (dashboard_api.h),
  // as stored now. Throws NotFound naming the study.
  std::string study_text(const std::string& study_name, const std::vector<TrialState>& states = {},
                         int64_t from_number = 0);
  // studies_json (dashboard_api.h): one header per study of the storage. Lists the studies
  // (Storage::study_names) and refreshes each as study_text does: no study is read whole
  // after its first read.
  Json studies();

  // Reads every study of the storage into the cache (its trials, their JSON, its header and
  // the importance), as the first request for each would: what start_refreshing's thread does
  // each round. Studies no longer in the storage are forgotten.
  void refresh_all();
  // Starts the thread that calls refresh_all() at once and then every `interval_seconds`
  // (> 0) until stop_refreshing() or the destructor; a second call while it runs does nothing.
  // A storage error in a round is dropped: the next round, or a request, tries again. Throws
  // InvalidArgument naming the interval.
  void start_refreshing(double interval_seconds);
  // Ends that thread (after the round under way, if any); safe to call more than once.
  void stop_refreshing();
  // How many rounds the thread has finished (tests wait for the first).
  int64_t refresh_rounds() const { return rounds_.load(); }

 private:
  struct StudyState;
  // The study's state, refreshed from the storage; its mutex is held by `lock`. `known_id`:
  // the study's id when the caller has just listed it (saves a lookup by name).
  std::shared_ptr<StudyState> refreshed(const std::string& study_name,
                                        std::unique_lock<std::mutex>& lock, int64_t known_id = -1);

  std::shared_ptr<Storage> storage_;
  DashboardCacheOptions options_;
  std::mutex mutex_;  // guards studies_ (each StudyState has its own)
  std::map<std::string, std::shared_ptr<StudyState>> studies_;

  std::mutex refresher_mutex_;  // guards stopping_ and refresher_
  std::condition_variable refresher_wake_;
  bool stopping_ = false;
  std::thread refresher_;
  std::atomic<int64_t> rounds_{0};
};

}  // namespace knob
