// Studies for a terminal, as `knob study list` and `knob study show` print them: the studies
// of a storage as a table or a JSON array, and one study as a header line and a table of its
// trials, then, for several objectives, its Pareto front. Trials with constraint values
// (constraints.h) show them and whether they are feasible; infeasible trials are never best
// nor on the front, as in Optuna. Values are written as Python's json.dumps writes them.
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
// of the trials: number, state, values, params, duration_s, note (the fail reason); with
// constraints also constraints and feasible. For several directions the Pareto front follows:
// "Pareto front: N of M feasible COMPLETE trials (K infeasible)" and a table of number,
// values, constraints, params.
std::string study_trials_text(const std::string& study_name,
                              const std::vector<StudyDirection>& directions,
                              const std::vector<FrozenTrial>& trials);

// The Pareto front of the feasible COMPLETE trials with one value per direction (as
// Study::best_trials; for one direction, the trials with the best value), in `trials`' order.
std::vector<const FrozenTrial*> pareto_front(const std::vector<FrozenTrial>& trials,
                                             const std::vector<StudyDirection>& directions);

}  // namespace knob
