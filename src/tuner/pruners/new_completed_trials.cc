#include "knob/tuner/pruners/new_completed_trials.h"

#include "knob/tuner/study.h"

namespace knob::detail {

void NewCompletedTrials::update(Study& study, const std::function<void()>& restart,
                                const std::function<void(const FrozenTrial&)>& add) {
  if (study_id_ != study.study_id() || storage_ != &study.storage()) {
    study_id_ = study.study_id();
    storage_ = &study.storage();
    numbers_.clear();
    restart();
  }
  const auto stored = study.storage().n_trials(study.study_id(), TrialState::kComplete);
  if (static_cast<size_t>(stored) == numbers_.size()) return;
  for (const auto& t : study.trials({TrialState::kComplete})) {
    if (numbers_.insert(t.number).second) add(t);
  }
}

}  // namespace knob::detail
