// StudyBudget: how many trials a study should run, and until when, shared by every process
// working on it. `knob tune` stores it with the study; `knob worker`s read it and start
// trials until it is spent, so N workers together run the study's n_trials, not N times it.
//
// Example:
//   save_study_budget(study, StudyBudget().n_trials(100));
//   study.optimize(objective, OptimizeOptions().keep_going(
//       [](Study& s) { return !study_budget_spent(s); }));
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "knob/core/arg.h"
#include "knob/storage/frozen_trial.h"

namespace knob {

class Study;

struct StudyBudget {
  // Trials the study should hold in all. A retried trial is replaced by its retry.
  KNOB_ARG(std::optional<int64_t>, n_trials);
  // Unix time (seconds) after which no trial starts.
  KNOB_ARG(std::optional<double>, deadline);
};

// `n_trials` in all, and a deadline `timeout_seconds` from now (each unset: none).
StudyBudget study_budget_from_now(std::optional<int64_t> n_trials,
                                  std::optional<double> timeout_seconds);

// Stored as the study system attribute "knob:budget" ({"n_trials": N, "deadline": T}).
void save_study_budget(Study& study, const StudyBudget& budget);
// nullopt when the study has none.
std::optional<StudyBudget> load_study_budget(Study& study);

// The trials that count towards n_trials: every trial that started (not WAITING), except
// those that a later trial retries (system attr "failed_trial", as Optuna's
// RetryFailedTrialCallback writes, or "knob:retry_of" after an interruption).
int64_t trials_counted_in_budget(const std::vector<FrozenTrial>& trials);

// Whether the stored budget is spent (false when there is none): the deadline has passed or
// the study counts n_trials, and no retry waits to run (a retry is never left behind, even
// when the trials started meanwhile already count n_trials). Processes checking at the same
// instant may each start one more trial, as with Optuna's MaxTrialsCallback. Reads the stored
// budget on each call, so a `knob tune` that raises it later is seen by running workers.
bool study_budget_spent(Study& study);

}  // namespace knob
