// NewCompletedTrials: what a pruner that caches the completed trials of its study reads on
// each call — only the trials completed since the last one. Completed trials never change and
// are never removed, so the storage's count of them says whether any is new (one count query
// per call otherwise). A different study or storage starts the cache again.
//
// Example (in a pruner's prune()):
//   completed_.update(study, [&] { cache_.clear(); },
//                     [&](const knob::FrozenTrial& t) { add_to_cache(t); });
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>

#include "knob/storage/frozen_trial.h"

namespace knob {
class Storage;
class Study;
}  // namespace knob

namespace knob::detail {

class NewCompletedTrials {
 public:
  // Calls `restart()` when `study` is not the one of the last call, then `add(trial)` for each
  // completed trial not passed before.
  void update(Study& study, const std::function<void()>& restart,
              const std::function<void(const FrozenTrial&)>& add);
  // The completed trials passed to `add` since the last restart.
  size_t count() const { return numbers_.size(); }

 private:
  const Storage* storage_ = nullptr;  // whose trials were read (an id is unique in a storage)
  int64_t study_id_ = -1;
  std::set<int64_t> numbers_;  // the completed trials passed to `add`
};

}  // namespace knob::detail
