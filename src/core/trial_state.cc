#include "knob/core/trial_state.h"

#include <algorithm>
#include <cctype>

#include "knob/core/error.h"

namespace knob {
namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

}  // namespace

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
    case TrialState::kWaiting: return "WAITING";
  }
  return "UNKNOWN";
}

TrialState parse_trial_state(const std::string& text, const std::string& field) {
  const std::string u = upper(text);
  for (auto s : {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned,
                 TrialState::kFail, TrialState::kWaiting}) {
    if (to_string(s) == u) return s;
  }
  throw_invalid(field, text, "must be one of RUNNING, COMPLETE, PRUNED, FAIL, WAITING");
}

bool is_finished(TrialState state) {
  return state == TrialState::kComplete || state == TrialState::kPruned ||
         state == TrialState::kFail;
}

std::string to_string(StudyDirection direction) {
  switch (direction) {
    case StudyDirection::kNotSet: return "NOT_SET";
    case StudyDirection::kMinimize: return "MINIMIZE";
    case StudyDirection::kMaximize: return "MAXIMIZE";
  }
  return "UNKNOWN";
}

StudyDirection parse_direction(const std::string& text, const std::string& field) {
  const std::string u = upper(text);
  if (u == "MINIMIZE") return StudyDirection::kMinimize;
  if (u == "MAXIMIZE") return StudyDirection::kMaximize;
  if (u == "NOT_SET") return StudyDirection::kNotSet;
  throw_invalid(field, text, "must be minimize or maximize");
}

}  // namespace knob
