#include "tuner/samplers/nsga2/elite.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "knob/core/error.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/study.h"

namespace knob::detail {

namespace {

// A trial with what constrained domination reads of it, parsed once.
struct Entry {
  const FrozenTrial* trial;
  std::optional<std::vector<double>> constraints;
  bool feasible = true;
  double violation = 0;
  std::vector<double> loss;  // the values, negated where maximized: smaller is better

  Entry(const FrozenTrial* t, const std::vector<StudyDirection>& directions)
      : trial(t), constraints(trial_constraints(*t)) {
    if (t->values.size() == directions.size()) {
      loss.reserve(directions.size());
      for (size_t k = 0; k < directions.size(); ++k) {
        loss.push_back(directions[k] == StudyDirection::kMaximize ? -t->values[k] : t->values[k]);
      }
    }
    if (!constraints) return;
    for (double v : *constraints) {
      if (!(v <= 0)) feasible = false;
      violation += v > 0 ? v : 0;
    }
  }
};

// Pareto domination as knob::dominates decides it, on losses.
bool loss_dominates(const Entry& a, const Entry& b, const std::vector<StudyDirection>& directions) {
  if (a.loss.size() != directions.size() || b.loss.size() != directions.size()) {
    return dominates(a.trial->values, b.trial->values, directions);
  }
  bool strictly = false;
  for (size_t k = 0; k < a.loss.size(); ++k) {
    if (b.loss[k] < a.loss[k]) return false;
    if (a.loss[k] < b.loss[k]) strictly = true;
  }
  return strictly;
}

bool entry_dominates(const Entry& a, const Entry& b,
                     const std::vector<StudyDirection>& directions) {
  const auto& ca = a.constraints;
  const auto& cb = b.constraints;
  if (!ca && !cb) return loss_dominates(a, b, directions);
  if (!cb) return true;
  if (!ca) return false;
  KNOB_CHECK(ca->size() == cb->size(), "constraints", dumps(Json(*ca)),
             "trial " + std::to_string(a.trial->number) + " has " + std::to_string(ca->size()) +
                 " constraint values and trial " + std::to_string(b.trial->number) + " has " +
                 std::to_string(cb->size()) + ": trials with different numbers cannot be compared");
  if (a.trial->state != TrialState::kComplete) return false;
  if (b.trial->state != TrialState::kComplete) return true;
  if (a.feasible && b.feasible) return loss_dominates(a, b, directions);
  if (a.feasible) return true;
  if (b.feasible) return false;
  return a.violation < b.violation;
}

}  // namespace

bool constrained_dominates(const FrozenTrial& a, const FrozenTrial& b,
                           const std::vector<StudyDirection>& directions) {
  return entry_dominates(Entry(&a, directions), Entry(&b, directions), directions);
}

std::vector<std::vector<const FrozenTrial*>> non_dominated_sort(
    std::vector<const FrozenTrial*> population, const std::vector<StudyDirection>& directions) {
  const size_t n = population.size();
  std::vector<Entry> entries;
  entries.reserve(n);
  for (const FrozenTrial* t : population) entries.emplace_back(t, directions);
  std::vector<int> dominated_count(n, 0);
  std::vector<std::vector<size_t>> dominated_by(n);  // index -> indices it dominates
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      if (entry_dominates(entries[i], entries[j], directions)) {
        dominated_by[i].push_back(j);
        ++dominated_count[j];
      } else if (entry_dominates(entries[j], entries[i], directions)) {
        dominated_by[j].push_back(i);
        ++dominated_count[i];
      }
    }
  }
  std::vector<size_t> left(n);  // indices not in a front yet
  for (size_t i = 0; i < n; ++i) left[i] = i;
  std::vector<std::vector<const FrozenTrial*>> fronts;
  while (!left.empty()) {
    // Optuna takes each undominated trial out by moving the last one into its place.
    std::vector<size_t> front;
    size_t i = 0;
    while (i < left.size()) {
      if (dominated_count[left[i]] == 0) {
        front.push_back(left[i]);
        left[i] = left.back();
        left.pop_back();
      } else {
        ++i;
      }
    }
    for (size_t x : front) {
      for (size_t y : dominated_by[x]) --dominated_count[y];
    }
    if (front.empty()) break;  // cannot happen: domination is a strict order
    std::vector<const FrozenTrial*> trials;
    trials.reserve(front.size());
    for (size_t x : front) trials.push_back(population[x]);
    fronts.push_back(std::move(trials));
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
