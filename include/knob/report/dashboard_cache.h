// DashboardCache: what the dashboard keeps between requests, so that a request costs what
// changed in the storage rather than the size of the study. Per study it holds the trials as
// last read, refreshed by Storage::trials_since (the new trials and those last seen WAITING or
// RUNNING), the JSON text of every trial (a finished trial never changes, so its text is made
// once), and the parameter importance, recomputed only after the study's COMPLETE trials
// changed and then at most once every `importance_interval` seconds, on a thread of its own
// after the first time (requests meanwhile get the previous one). A study deleted and
// made again under its name is read anew, even when SQLite gives it the old id. Thread-safe:
// the dashboard server's threads share one.
//
// Example:
//   knob::DashboardCache cache(knob::open_storage("sqlite:///knob.db"));
//   std::string body = cache.study_text("mlp");  // the JSON of study_json(storage, "mlp")
//   body = cache.study_text("mlp");              // reads only the new and unfinished trials
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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
  // studies_json (dashboard_api.h): one header per study of the storage.
  Json studies();

 private:
  struct StudyState;
  // The study's state, refreshed from the storage; its mutex is held by `lock`.
  std::shared_ptr<StudyState> refreshed(const std::string& study_name,
                                        std::unique_lock<std::mutex>& lock);

  std::shared_ptr<Storage> storage_;
  DashboardCacheOptions options_;
  std::mutex mutex_;  // guards studies_ (each StudyState has its own)
  std::map<std::string, std::shared_ptr<StudyState>> studies_;
};

}  // namespace knob
