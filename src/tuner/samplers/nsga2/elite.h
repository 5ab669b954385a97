// NSGA-II's selection (internal): constrained domination, the fast non-dominated sort, the
// crowding distance and the elite of a population — each ordered exactly as Optuna 3.1
// orders them, so ties resolve the same way and an Optuna study continues identically.
//
// Example:
//   auto ranks = detail::non_dominated_sort(population, study.directions());
//   auto elite = detail::select_elite(population, study.directions(), 50);
#pragma once

#include <map>
#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob::detail {

// Optuna's _constrained_dominates: a trial with constraints beats one without; feasible
// beats infeasible; two infeasible compare by total violation; two feasible (or two without
// constraints) by Pareto domination. Throws InvalidArgument when the numbers of constraint
// values differ.
bool constrained_dominates(const FrozenTrial& a, const FrozenTrial& b,
                           const std::vector<StudyDirection>& directions);

// The fronts, best first, each in Optuna's order.
std::vector<std::vector<const FrozenTrial*>> non_dominated_sort(
    std::vector<const FrozenTrial*> population, const std::vector<StudyDirection>& directions);

// Crowding distance of each trial (by number). Sorts `front` as Optuna does on the way.
std::map<int64_t, double> crowding_distance(std::vector<const FrozenTrial*>& front);

// The `size` best of `population`: whole fronts, then the most crowding-distant of the front
// that does not fit.
std::vector<const FrozenTrial*> select_elite(std::vector<const FrozenTrial*> population,
                                             const std::vector<StudyDirection>& directions,
                                             size_t size);

}  // namespace knob::detail
