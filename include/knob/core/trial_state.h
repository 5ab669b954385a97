// The life cycle of a trial and the direction of an objective, spelled as Optuna spells them
// in its database (`trials.state`, `study_directions.direction`).
#pragma once

#include <string>

namespace knob {

enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };

// "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING".
std::string to_string(TrialState state);
// The inverse, case-insensitive; throws InvalidArgument naming `field`.
TrialState parse_trial_state(const std::string& text, const std::string& field = "state");
// COMPLETE, PRUNED and FAIL are final: a finished trial is never updated again.
bool is_finished(TrialState state);

enum class StudyDirection { kNotSet, kMinimize, kMaximize };

// "NOT_SET", "MINIMIZE", "MAXIMIZE".
std::string to_string(StudyDirection direction);
// Accepts "minimize"/"maximize" in any case (and "NOT_SET" as stored by Optuna).
StudyDirection parse_direction(const std::string& text, const std::string& field = "direction");

}  // namespace knob
