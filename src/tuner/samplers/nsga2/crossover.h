// NSGA-II's crossovers (internal): a child's coordinates from its parents' in the numerical
// search space (log parameters in log scale, stepped ones widened by half a step). The random
// numbers come through `Draws` in the order Optuna 3.1 draws them, so the golden tests can
// feed Optuna's draws and expect Optuna's child.
//
// Example:
//   detail::Draws draws{[&] { return rng.uniform(); }, [&] { return rng.normal(); }};
//   auto child = detail::crossover(NsgaIICrossover::sbx(), parents, bounds, true, 0.5, draws);
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "knob/tuner/samplers/nsga2_sampler.h"

namespace knob::detail {

struct Draws {
  std::function<double()> uniform;  // in [0, 1)
  std::function<double()> normal;   // standard normal
};

// `parents`: crossover.n_parents() rows of bounds.size() coordinates; `bounds`: (low, high)
// per coordinate (SBX reads them). The child may lie outside the bounds (the caller clips).
std::vector<double> crossover(const NsgaIICrossover& crossover,
                              const std::vector<std::vector<double>>& parents,
                              const std::vector<std::pair<double, double>>& bounds,
                              bool multi_objective, double swapping_prob, Draws& draws);

}  // namespace knob::detail
