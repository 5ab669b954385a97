// MOTPE's split and weights (internal), as Optuna 3.1's TPESampler does them for several
// objectives (all minimized here): the "good" trials are whole non-domination ranks, the last
// one completed by greedy hypervolume subset selection, and each good trial weighs its
// hypervolume contribution relative to the largest.
//
// Example:
//   auto below = detail::select_below(losses, n_below);         // indices into losses
//   auto weights = detail::hypervolume_contribution_weights(rows_of(losses, below));
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace knob::detail {

// Optuna's EPS in the TPE sampler.
inline constexpr double kMotpeEps = 1e-12;

// Non-domination rank of each loss vector (0 = not dominated).
std::vector<int> nondomination_ranks(const std::vector<std::vector<double>>& losses);

// Optuna's reference point for a set of losses: max(1.1 w, 0.9 w) of the worst point w,
// zeros replaced by kMotpeEps.
std::vector<double> motpe_reference_point(const std::vector<std::vector<double>>& losses);

// Greedy hypervolume subset selection: `size` of `losses` (indices, in the order chosen).
std::vector<size_t> solve_hssp(const std::vector<std::vector<double>>& losses, size_t size,
                               const std::vector<double>& reference);

// The `n_below` good trials: indices into `losses`, rank by rank, then the HSSP choice.
std::vector<size_t> select_below(const std::vector<std::vector<double>>& losses, size_t n_below);

// Weight of each good trial: its hypervolume contribution + kMotpeEps over the largest.
std::vector<double> hypervolume_contribution_weights(
    const std::vector<std::vector<double>>& losses);

// Optuna 3.x's split with constraints, of observations 0..n-1 with these total violations
// (0: feasible; +inf: no constraints, or running): if the feasible ones do not fill the good
// set, the n_below least violating (ties by position), else best_of(feasible, n_below).
std::vector<size_t> split_by_violation(
    const std::vector<double>& violation, size_t n_below,
    const std::function<std::vector<size_t>(const std::vector<size_t>&, size_t)>& best_of);

// MOTPE's weights of the good observations `below` (indices into losses/violation): the
// feasible ones by hypervolume contribution among themselves, the others kMotpeEps.
std::vector<double> motpe_weights(const std::vector<std::vector<double>>& losses,
                                  const std::vector<double>& violation,
                                  const std::vector<size_t>& below);

}  // namespace knob::detail
