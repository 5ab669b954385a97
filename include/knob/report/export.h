// Exports of a study's trials: JSON (everything stored, values as Python's json writes them,
// distributions as Optuna's JSON) and CSV (one row a trial, columns as in Optuna's
// trials_dataframe: number, value(s), times, params_*, user_attrs_*, state).
//
// Example:
//   auto study =
//   knob::load_study(knob::StudyOptions().storage("sqlite:///knob.db").study_name("s"));
//   std::string csv = knob::trials_to_csv(study.trials(), study.directions().size());
#pragma once

#include <string>
#include <vector>

#include "knob/core/json.h"
#include "knob/storage/frozen_trial.h"

namespace knob {

// {"number", "state", "values", "params", "distributions", "intermediate_values",
//  "user_attrs", "system_attrs", "datetime_start", "datetime_complete", "duration"};
// without "distributions" when `with_distributions` is false (the dashboard's study page,
// which has each parameter's distribution once, in the study's "params").
Json trial_to_json(const FrozenTrial& trial, bool with_distributions = true);

// {"study_name", "directions", "user_attrs", "trials": [...]}, strict JSON: a NaN or infinite
// number anywhere (a value, an attribute) is written as the string "nan", "inf" or "-inf".
Json study_to_json(const std::string& study_name, const std::vector<StudyDirection>& directions,
                   const std::map<std::string, Json>& user_attrs,
                   const std::vector<FrozenTrial>& trials);

// CSV text with a header row; fields quoted where needed (RFC 4180).
std::string trials_to_csv(const std::vector<FrozenTrial>& trials, size_t n_objectives);

}  // namespace knob
