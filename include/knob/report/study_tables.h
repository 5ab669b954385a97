// Studies for a terminal, as `knob study list` and `knob study show` print them: the studies
// of a storage as a table or a JSON array, and one study as a header line and a table of its
// trials. Values are written as Python's json.dumps writes them; times to the second.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db");
//   std::cout << knob::studies_table(storage->all_studies());
//   int64_t id = storage->study_id_from_name("mlp");
//   std::cout << knob::study_trials_text("mlp", storage->study_directions(id),
//                                        storage->trials(id));
#pragma once

#include <string>
#include <vector>

#include "knob/core/json.h"
#include "knob/storage/frozen_trial.h"

namespace knob {

// name, direction(s), trials, the count in each state, the best value ("-": none), started.
std::string studies_table(const std::vector<StudySummary>& studies);

// [{"study_name", "directions" ("minimize,maximize"), "n_trials", "trial_counts" (by state
//   name), "best_value" (or null), "datetime_start" (or null)}, ...]
Json studies_to_json(const std::vector<StudySummary>& studies);

// "study NAME (DIRECTIONS), N trials; best: trial K with value V", a blank line, and a table
// of the trials: number, state, values, params, duration_s, note (the fail reason).
std::string study_trials_text(const std::string& study_name,
                              const std::vector<StudyDirection>& directions,
                              const std::vector<FrozenTrial>& trials);

}  // namespace knob
