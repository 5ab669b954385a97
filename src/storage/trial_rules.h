// Rules every storage backend applies the same way (internal to the storage module).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/frozen_trial.h"

namespace knob::detail {

// Throws Error if a finished trial is about to be written to.
inline void check_trial_updatable(int64_t number, TrialState state) {
  if (is_finished(state)) {
    throw Error("trial " + std::to_string(number) + " is already " + to_string(state) +
                " and cannot be updated");
  }
}

// Throws InvalidArgument for an empty study name.
inline void check_study_name(const std::string& name) {
  KNOB_CHECK(!name.empty(), "study_name", name, "must not be empty");
}

// Throws InvalidArgument for an empty direction list or NOT_SET.
inline void check_directions(const std::vector<StudyDirection>& directions) {
  KNOB_CHECK(!directions.empty(), "directions", std::string("[]"),
             "must name at least one of minimize, maximize");
  for (auto d : directions) {
    KNOB_CHECK(d != StudyDirection::kNotSet, "direction", to_string(d),
               "must be minimize or maximize");
  }
}

// Throws InvalidArgument for a NaN objective value (+-inf are allowed, as in Optuna).
inline void check_values(const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    KNOB_CHECK(!std::isnan(values[i]), "values[" + std::to_string(i) + "]", values[i],
               "must not be NaN");
  }
}

// Throws InvalidArgument for a template no trial can be created from: a NaN value, or a
// parameter without its distribution.
inline void check_template(const FrozenTrial& templ) {
  check_values(templ.values);
  for (const auto& [name, value] : templ.internal_params) {
    KNOB_CHECK(templ.distributions.count(name) != 0, "distributions['" + name + "']",
               std::string("(missing)"),
               "each parameter of a trial template needs its distribution");
  }
}

// Whether moving a trial in state `from` to `to` is allowed (false = refused, nothing changes).
inline bool transition_allowed(TrialState from, TrialState to) {
  if (is_finished(from)) return false;
  if (to == TrialState::kRunning) return from == TrialState::kWaiting;
  return true;
}

// ---- heartbeats ----

// Throws InvalidArgument unless the grace period is a finite number of seconds >= 0.
inline void check_grace_period(double grace_period_seconds) {
  KNOB_CHECK(std::isfinite(grace_period_seconds) && grace_period_seconds >= 0,
             "grace_period_seconds", grace_period_seconds, "must be a finite number >= 0");
}

// The "fail_reason" of a trial failed because its heartbeat stopped (failed_as_stale reads
// its "stale: " prefix).
inline std::string stale_fail_reason(double silent_seconds, double grace_period_seconds) {
  char text[120];
  std::snprintf(text, sizeof text, "stale: no heartbeat for %.1f s (grace %g s)", silent_seconds,
                grace_period_seconds);
  return text;
}

}  // namespace knob::detail
