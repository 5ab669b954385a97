// FrozenTrial: a snapshot of one trial as stored — number, state, params with their
// distributions, objective values, intermediate values and attributes. Plain data, copied
// freely; the storage owns the truth.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/clock.h"
#include "knob/core/distribution.h"
#include "knob/core/json.h"
#include "knob/core/trial_state.h"

namespace knob {

struct FrozenTrial {
  int64_t trial_id = -1;  // the storage's key
  int64_t number = -1;    // 0, 1, 2, ... within the study, in creation order
  TrialState state = TrialState::kRunning;
  std::vector<double> values;  // one per objective, set when COMPLETE
  std::optional<TimePoint> datetime_start;
  std::optional<TimePoint> datetime_complete;
  std::map<std::string, double> internal_params;  // see distribution.h for "internal"
  std::map<std::string, Distribution> distributions;
  std::map<int64_t, double> intermediate_values;  // step -> value (may be NaN or +-inf)
  std::map<std::string, Json> user_attrs;
  std::map<std::string, Json> system_attrs;

  // The external value of a parameter; throws NotFound naming it.
  ParamValue param(const std::string& name) const;
  // All parameters in their external form.
  std::map<std::string, ParamValue> params() const;
  // The single objective value; throws Error if the trial has none or several.
  double value() const;
  // The last reported intermediate value, if any.
  std::optional<std::pair<int64_t, double>> last_step() const;
  // Seconds from start to completion (or nullopt while running).
  std::optional<double> duration_seconds() const;
};

// What `Storage::all_studies` returns for each study.
struct StudySummary {
  int64_t study_id = -1;
  std::string study_name;
  std::vector<StudyDirection> directions;
  std::map<std::string, Json> user_attrs;
  std::map<TrialState, int64_t> trial_counts;  // by state; missing states are 0
  std::optional<FrozenTrial> best_trial;       // single-objective studies with a COMPLETE trial
  std::optional<TimePoint> datetime_start;     // of the first trial
  int64_t n_trials() const;
};

// Whether Storage::fail_stale_trials failed this trial: FAIL, with a "fail_reason" that starts
// "stale: ".
bool failed_as_stale(const FrozenTrial& trial);

// Fills a summary's counts, best trial and start time from the study's trials.
void summarize_trials(const std::vector<FrozenTrial>& trials, StudySummary& summary);

}  // namespace knob
