#include "knob/storage/trial_cache.h"

#include <algorithm>
#include <cassert>

namespace knob {

TrialCache::TrialCache(std::shared_ptr<Storage> storage, int64_t study_id)
    : storage_(std::move(storage)), study_id_(study_id) {
  assert(storage_);
}

void TrialCache::refresh_locked() {
  std::vector<FrozenTrial> changed = storage_->trials_since(
      study_id_, max_trial_id_, {unfinished_ids_.begin(), unfinished_ids_.end()});

  // Trials above max_trial_id_ are all the new ones because a study's trial ids are allocated
  // in commit order: SQLite and InMemoryStorage write one at a time; on PostgreSQL knob and
  // Optuna 3.1 workers alike create a trial under a lock on the study's row. A study's trials
  // are never deleted but with the study, which trials_since reports (NotFound).
  for (FrozenTrial& t : changed) {
    max_trial_id_ = std::max(max_trial_id_, t.trial_id);
    if (is_finished(t.state)) {
      unfinished_ids_.erase(t.trial_id);
    } else {
      unfinished_ids_.insert(t.trial_id);
    }
    const int64_t number = t.number;
    by_number_.insert_or_assign(number, std::move(t));
  }
}

std::vector<FrozenTrial> TrialCache::trials(const std::vector<TrialState>& states) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  std::vector<FrozenTrial> out;
  out.reserve(states.empty() ? by_number_.size() : 0);
  for (const auto& [number, t] : by_number_) {
    if (states.empty() || std::find(states.begin(), states.end(), t.state) != states.end()) {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace knob
