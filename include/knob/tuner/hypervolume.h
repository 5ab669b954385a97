// Hypervolume: the volume dominated by a set of points and bounded by a reference point, all
// objectives minimized (the quality measure of a Pareto front). Exact: a sweep in 2-D, a
// sweep of 2-D slices in 3-D, WFG (While, Bradstreet and Barone, 2012) beyond.
//
// Example:
//   double hv = knob::hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4});  // 6
//   auto history = knob::hypervolume_history(study.trials(), study.directions(), {1.0, 1.0});
#pragma once

#include <vector>

#include "knob/storage/frozen_trial.h"

namespace knob {

// Points that do not strictly dominate `reference` in every objective add nothing and are
// ignored. Throws InvalidArgument naming the point when its size differs from the reference's
// or a coordinate is NaN.
double hypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference);

// Optuna's plot_hypervolume_history: one value per COMPLETE trial in trial-number order, the
// hypervolume of the feasible (constraints.h) COMPLETE trials up to and including it.
// `reference` is in the objectives' own directions (a maximized objective's reference is a
// lower bound). Throws InvalidArgument when reference and directions differ in size.
std::vector<double> hypervolume_history(const std::vector<FrozenTrial>& trials,
                                        const std::vector<StudyDirection>& directions,
                                        const std::vector<double>& reference);

}  // namespace knob
