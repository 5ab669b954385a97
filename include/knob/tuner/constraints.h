// Constraints: Optuna's constraints_func semantics. A constraints function maps a finished
// trial to values; a trial is feasible when every value is <= 0. The values are stored in the
// trial's system attribute "constraints" (Optuna's _CONSTRAINTS_KEY), so Optuna reads knob's
// feasibility and knob reads Optuna's. A trial without the attribute counts as feasible.
//
// Example:
//   auto study = knob::create_study(knob::StudyOptions().directions({kMin, kMin})
//       .constraints_func([](const knob::FrozenTrial& t) {
//         return std::vector<double>{t.values[1] - 300.0};  // train_seconds <= 300
//       }));
//   for (const auto& t : study.best_trials()) assert(knob::is_feasible(t));
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob {

class Study;

// Called for each COMPLETE or PRUNED trial before its state is stored (the trial carries its
// state and values). Values must not be NaN.
using ConstraintsFunc = std::function<std::vector<double>(const FrozenTrial&)>;

// The system attribute holding a trial's constraint values (a JSON array of numbers).
inline const std::string kConstraintsKey = "constraints";

// The stored constraint values; nullopt when the trial has none (or they are not an array of
// numbers).
std::optional<std::vector<double>> trial_constraints(const FrozenTrial& trial);
// No constraints stored, or every value <= 0.
bool is_feasible(const FrozenTrial& trial);
// The sum of the positive constraint values (0 for a feasible trial).
double total_violation(const FrozenTrial& trial);

// Evaluates `func` on `trial` (which carries its final state and values) and stores the
// values in the storage and in trial.system_attrs. Returns "" or, when `func` throws or
// returns NaN, what went wrong (then nothing is stored), starting "constraints_func".
std::string store_constraints(Study& study, FrozenTrial& trial, const ConstraintsFunc& func);

}  // namespace knob
