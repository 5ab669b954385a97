// Reading finished trials from a file to add them to a study (`knob study add-trials --from`):
// the two files `knob study export` writes, so an export adds back as it was.
//  - JSON: the object `study export --format json` writes ({"trials": [...]}) or a bare list
//    of such trial objects: "state", "values", "params", "distributions",
//    "intermediate_values", "user_attrs", "system_attrs", "datetime_start",
//    "datetime_complete" ("number" and "duration" are ignored). A trial without
//    "distributions" takes them from `known`.
//  - CSV (`study export --format csv`, Optuna's trials_dataframe().to_csv()): a header row;
//    `value` (one objective) or `values_0`..`values_<n-1>`, `params_<name>` (an empty cell:
//    not suggested in that trial), optional `state` (default COMPLETE), `datetime_start`,
//    `datetime_complete`, `user_attrs_<key>` (a JSON value, else text); `number`, `duration`,
//    `system_attrs_*` and pandas' unnamed index column are ignored. A CSV holds no
//    distributions: each parameter's comes from `known` (the study's own, or --search-space).
// Errors name the file, the row (CSV: its line; JSON: trials[i]), the column and the value.
//
// Example:
//   auto rows = knob::run::read_trial_file("old.csv", 1, knob::trial_distributions(trials));
#pragma once

#include <map>
#include <string>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob::run {

struct TrialFileRow {
  FrozenTrial trial;
  std::string where;  // "old.csv line 3", "old.json trials[2]": for error messages
};

// By the file's extension: .csv or .json (InvalidArgument naming `field` otherwise).
std::vector<TrialFileRow> read_trial_file(const std::string& path, size_t n_objectives,
                                          const std::map<std::string, Distribution>& known,
                                          const std::string& field = "--from");
std::vector<TrialFileRow> parse_trials_json(const std::string& text, const std::string& origin,
                                            const std::map<std::string, Distribution>& known);
std::vector<TrialFileRow> parse_trials_csv(const std::string& text, const std::string& origin,
                                           size_t n_objectives,
                                           const std::map<std::string, Distribution>& known);

}  // namespace knob::run
