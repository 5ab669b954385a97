#include "tuner/samplers/nsga2/elite.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "knob/core/error.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/study.h"

namespace knob::detail {

bool constrained_dominates(const FrozenTrial& a, const FrozenTrial& b,
                           const std::vector<StudyDirection>& directions) {
  const auto ca = trial_constraints(a);
  const auto cb = trial_constraints(b);
  if (!ca && !cb) return dominates(a.values, b.values, directions);
  if (!cb) return true;
  if (!ca) return false;
  KNOB_CHECK(ca->size() == cb->size(), "constraints", dumps(Json(*ca)),
             "trial " + std::to_string(a.number) + " has " + std::to_string(ca->size()) +
                 " constraint values and trial " + std::to_string(b.number) + " has " +
                 std::to_string(cb->size()) + ": trials with different numbers cannot be compared");
  if (a.state != TrialState::kComplete) return false;
  if (b.state != TrialState::kComplete) return true;
  const bool fa = is_feasible(a), fb = is_feasible(b);
  if (fa && fb) return dominates(a.values, b.values, directions);
  if (fa) return true;
  if (fb) return false;
  return total_violation(a) < total_violation(b);
}

std::vector<std::vector<const FrozenTrial*>> non_dominated_sort(
    std::vector<const FrozenTrial*> population, const std::vector<StudyDirection>& directions) {
  const size_t n = population.size();
  std::map<int64_t, int> dominated_count;
  std::map<int64_t, std::vector<int64_t>> dominated_by;  // number -> numbers it dominates
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const FrozenTrial& p = *population[i];
      const FrozenTrial& q = *population[j];
      if (constrained_dominates(p, q, directions)) {
        dominated_by[p.number].push_back(q.number);
        ++dominated_count[q.number];
      } else if (constrained_dominates(q, p, directions)) {
        dominated_by[q.number].push_back(p.number);
        ++dominated_count[p.number];
      }
    }
  }
  std::vector<std::vector<const FrozenTrial*>> fronts;
  while (!population.empty()) {
    // Optuna takes each undominated trial out by moving the last one into its place.
    std::vector<const FrozenTrial*> front;
    size_t i = 0;
    while (i < population.size()) {
      if (dominated_count[population[i]->number] == 0) {
        front.push_back(population[i]);
        population[i] = population.back();
        population.pop_back();
      } else {
        ++i;
      }
    }
    for (const FrozenTrial* x : front) {
      for (int64_t y : dominated_by[x->number]) --dominated_count[y];
    }
    if (front.empty()) break;  // cannot happen: domination is a strict order
    fronts.push_back(std::move(front));
  }
  return fronts;
}

std::map<int64_t, double> crowding_distance(std::vector<const FrozenTrial*>& front) {
  std::map<int64_t, double> distance;
  if (front.empty()) return distance;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (const FrozenTrial* t : front) distance[t->number] = 0;
  for (size_t k = 0; k < front[0]->values.size(); ++k) {
    std::stable_sort(front.begin(), front.end(), [k](const FrozenTrial* a, const FrozenTrial* b) {
      return a->values[k] < b->values[k];
    });
    if (front.front()->values[k] == front.back()->values[k]) continue;
    std::vector<double> vs = {-kInf};
    for (const FrozenTrial* t : front) vs.push_back(t->values[k]);
    vs.push_back(kInf);
    const double v_min = *std::find_if(vs.begin(), vs.end(), [](double v) { return v != -kInf; });
    const double v_max = *std::find_if(vs.rbegin(), vs.rend(), [](double v) { return v != kInf; });
    double width = v_max - v_min;
    if (width <= 0) width = 1;
    for (size_t j = 0; j < front.size(); ++j) {
      const double gap = vs[j] == vs[j + 2] ? 0.0 : vs[j + 2] - vs[j];
      distance[front[j]->number] += gap / width;
    }
  }
  return distance;
}

std::vector<const FrozenTrial*> select_elite(std::vector<const FrozenTrial*> population,
                                             const std::vector<StudyDirection>& directions,
                                             size_t size) {
  std::vector<const FrozenTrial*> elite;
  for (auto& front : non_dominated_sort(std::move(population), directions)) {
    if (elite.size() + front.size() < size) {
      elite.insert(elite.end(), front.begin(), front.end());
      continue;
    }
    const auto distance = crowding_distance(front);
    // Python's stable sort by distance, then reverse().
    std::stable_sort(front.begin(), front.end(), [&](const FrozenTrial* a, const FrozenTrial* b) {
      return distance.at(a->number) < distance.at(b->number);
    });
    std::reverse(front.begin(), front.end());
    front.resize(size - elite.size());
    elite.insert(elite.end(), front.begin(), front.end());
    break;
  }
  return elite;
}

}  // namespace knob::detail
