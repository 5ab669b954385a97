#include "tuner/samplers/tpe/multi_objective.h"

#include <algorithm>
#include <numeric>

#include "knob/tuner/hypervolume.h"

namespace knob::detail {
namespace {

bool strictly_dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strictly = false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) strictly = true;
  }
  return strictly;
}

}  // namespace

std::vector<int> nondomination_ranks(const std::vector<std::vector<double>>& losses) {
  const size_t n = losses.size();
  std::vector<int> ranks(n, -1);
  size_t unranked = n;
  for (int rank = 0; unranked > 0; ++rank) {
    std::vector<size_t> now;
    for (size_t i = 0; i < n; ++i) {
      if (ranks[i] != -1) continue;
      bool dominated = false;
      for (size_t j = 0; j < n && !dominated; ++j) {
        dominated = ranks[j] == -1 && strictly_dominates(losses[j], losses[i]);
      }
      if (!dominated) now.push_back(i);
    }
    for (size_t i : now) ranks[i] = rank;
    unranked -= now.size();
  }
  return ranks;
}

std::vector<double> motpe_reference_point(const std::vector<std::vector<double>>& losses) {
  std::vector<double> worst = losses.front();
  for (const auto& l : losses) {
    for (size_t k = 0; k < worst.size(); ++k) worst[k] = std::max(worst[k], l[k]);
  }
  for (double& w : worst) {
    w = std::max(1.1 * w, 0.9 * w);
    if (w == 0) w = kMotpeEps;
  }
  return worst;
}

std::vector<size_t> solve_hssp(const std::vector<std::vector<double>>& losses, size_t size,
                               const std::vector<double>& reference) {
  std::vector<double> contributions;
  for (const auto& l : losses) contributions.push_back(hypervolume({l}, reference));
  std::vector<std::vector<double>> selected_points;
  std::vector<size_t> selected;
  double hv_selected = 0;
  while (selected.size() < size) {
    const auto best = static_cast<size_t>(
        std::max_element(contributions.begin(), contributions.end()) - contributions.begin());
    contributions[best] = -1;  // chosen
    for (size_t j = 0; j < losses.size(); ++j) {
      if (contributions[j] == -1) continue;
      std::vector<double> p(losses[j].size());
      for (size_t k = 0; k < p.size(); ++k) p[k] = std::max(losses[best][k], losses[j][k]);
      auto with = selected_points;
      with.push_back(std::move(p));
      contributions[j] -= hypervolume(std::move(with), reference) - hv_selected;
    }
    selected_points.push_back(losses[best]);
    selected.push_back(best);
    hv_selected = hypervolume(selected_points, reference);
  }
  return selected;
}

std::vector<size_t> select_below(const std::vector<std::vector<double>>& losses, size_t n_below) {
  const std::vector<int> ranks = nondomination_ranks(losses);
  std::vector<size_t> below;
  int rank = 0;
  auto of_rank = [&](int r) {
    std::vector<size_t> out;
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (ranks[i] == r) out.push_back(i);
    }
    return out;
  };
  while (below.size() < n_below) {
    const std::vector<size_t> members = of_rank(rank);
    if (below.size() + members.size() > n_below) break;
    below.insert(below.end(), members.begin(), members.end());
    ++rank;
  }
  if (below.size() < n_below) {
    const std::vector<size_t> members = of_rank(rank);
    std::vector<std::vector<double>> rank_losses;
    for (size_t i : members) rank_losses.push_back(losses[i]);
    for (size_t i :
         solve_hssp(rank_losses, n_below - below.size(), motpe_reference_point(rank_losses))) {
      below.push_back(members[i]);
    }
  }
  return below;
}

std::vector<double> hypervolume_contribution_weights(
    const std::vector<std::vector<double>>& losses) {
  if (losses.size() <= 1) return std::vector<double>(losses.size(), 1.0);
  const std::vector<double> reference = motpe_reference_point(losses);
  const double hv = hypervolume(losses, reference);
  std::vector<double> contributions;
  for (size_t i = 0; i < losses.size(); ++i) {
    auto others = losses;
    others.erase(others.begin() + static_cast<std::ptrdiff_t>(i));
    contributions.push_back(hv - hypervolume(std::move(others), reference) + kMotpeEps);
  }
  const double top = *std::max_element(contributions.begin(), contributions.end());
  for (double& c : contributions) c = std::clamp(c / top, 0.0, 1.0);
  return contributions;
}

std::vector<size_t> split_by_violation(
    const std::vector<double>& violation, size_t n_below,
    const std::function<std::vector<size_t>(const std::vector<size_t>&, size_t)>& best_of) {
  const size_t n = violation.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return violation[a] < violation[b]; });
  if (n_below >= n || violation[order[n_below]] > 0) {
    order.resize(std::min(n_below, n));
    return order;
  }
  std::vector<size_t> feasible;
  for (size_t i = 0; i < n; ++i) {
    if (violation[i] == 0) feasible.push_back(i);
  }
  return best_of(feasible, n_below);
}

std::vector<double> motpe_weights(const std::vector<std::vector<double>>& losses,
                                  const std::vector<double>& violation,
                                  const std::vector<size_t>& below) {
  std::vector<double> weights(below.size(), kMotpeEps);
  std::vector<size_t> feasible;
  std::vector<std::vector<double>> feasible_losses;
  for (size_t k = 0; k < below.size(); ++k) {
    if (violation[below[k]] == 0)
      feasible.push_back(k), feasible_losses.push_back(losses[below[k]]);
  }
  const std::vector<double> contributions = hypervolume_contribution_weights(feasible_losses);
  for (size_t k = 0; k < feasible.size(); ++k) weights[feasible[k]] = contributions[k];
  return weights;
}

}  // namespace knob::detail
