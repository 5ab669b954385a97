// TrialCache: one study's trials as a reader sees them, refreshed by reading only what changed
// since its last read (Optuna 3.1's _CachedStorage): finished trials never change, so they are
// kept; each read asks the storage (Storage::trials_since) for the trials created since — ids
// above the largest seen — and again for those it last saw WAITING or RUNNING, which another
// thread or process may have finished meanwhile. Thread-safe; Study copies share one.
//
// Example:
//   knob::TrialCache cache(storage, study_id);
//   for (const auto& t : cache.trials({knob::TrialState::kComplete})) use(t);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "knob/storage/storage.h"

namespace knob {

class TrialCache {
 public:
  TrialCache(std::shared_ptr<Storage> storage, int64_t study_id);

  // The study's trials ordered by number, optionally only those in `states`, as stored now:
  // what Storage::trials returns, for the cost of reading the new and unfinished ones.
  std::vector<FrozenTrial> trials(const std::vector<TrialState>& states = {});

 private:
  void refresh_locked();

  std::shared_ptr<Storage> storage_;
  int64_t study_id_;
  std::mutex mutex_;
  std::map<int64_t, FrozenTrial> by_number_;
  std::set<int64_t> unfinished_ids_;  // of the WAITING/RUNNING trials read
  int64_t max_trial_id_ = -1;         // the largest id read so far
};

}  // namespace knob
