#include "knob/tuner/pruners/successive_halving_pruner.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {

SuccessiveHalvingPruner::SuccessiveHalvingPruner(SuccessiveHalvingPrunerOptions options)
    : options_(options), min_resource_(options.min_resource()) {
  KNOB_CHECK(!options_.min_resource() || *options_.min_resource() >= 1, "min_resource",
             *options_.min_resource(), "must be >= 1 or \"auto\" (unset)");
  KNOB_CHECK(options_.reduction_factor() >= 2, "reduction_factor", options_.reduction_factor(),
             "must be >= 2");
  KNOB_CHECK(options_.min_early_stopping_rate() >= 0, "min_early_stopping_rate",
             options_.min_early_stopping_rate(), "must be >= 0");
  KNOB_CHECK(options_.bootstrap_count() >= 0, "bootstrap_count", options_.bootstrap_count(),
             "must be >= 0");
  KNOB_CHECK(options_.bootstrap_count() == 0 || options_.min_resource(), "bootstrap_count",
             options_.bootstrap_count(), "must be 0 when min_resource is \"auto\" (unset)");
}

std::string SuccessiveHalvingPruner::completed_rung_key(int64_t rung) {
  return "completed_rung_" + std::to_string(rung);
}

namespace {

// min_resource * factor^exponent, saturating at the largest int64 (a step never reaches it).
int64_t rung_step(int64_t min_resource, int64_t factor, int64_t exponent) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t step = min_resource;
  for (int64_t i = 0; i < exponent; ++i) {
    if (step > kMax / factor) return kMax;
    step *= factor;
  }
  return step;
}

// The rungs a trial has completed: completed_rung_0, 1, ... present in its attributes.
int64_t completed_rungs(const std::map<std::string, Json>& system_attrs) {
  int64_t rung = 0;
  while (system_attrs.count(SuccessiveHalvingPruner::completed_rung_key(rung))) ++rung;
  return rung;
}

// Optuna's "auto" min_resource: the longest completed trial's last step / 100, at least 1.
std::optional<int64_t> estimate_min_resource(const std::vector<FrozenTrial>& trials) {
  std::optional<int64_t> longest;
  for (const auto& t : trials) {
    auto last = t.last_step();
    if (t.state == TrialState::kComplete && last)
      longest = std::max(longest.value_or(0), last->first);
  }
  if (!longest) return std::nullopt;
  return std::max<int64_t>(*longest / 100, 1);
}

// Whether `value` is among the best len / reduction_factor of `competing` (which holds it),
// or the best when there are fewer than reduction_factor.
bool promotable(double value, std::vector<double> competing, int64_t reduction_factor,
                bool maximize) {
  const auto kept = std::max<size_t>(competing.size() / static_cast<size_t>(reduction_factor), 1);
  std::sort(competing.begin(), competing.end());
  return maximize ? value >= competing[competing.size() - kept] : value <= competing[kept - 1];
}

}  // namespace

bool SuccessiveHalvingPruner::prune(Study& study, const FrozenTrial& trial) {
  return prune_among(study, trial, [&study] { return study.trials(); });
}

bool SuccessiveHalvingPruner::prune_among(
    Study& study, const FrozenTrial& trial,
    const std::function<std::vector<FrozenTrial>()>& read_trials) {
  auto last = trial.last_step();
  if (!last) return false;
  const auto [step, value] = *last;
  std::optional<std::vector<FrozenTrial>> trials;
  auto all = [&]() -> const std::vector<FrozenTrial>& {
    if (!trials) trials = read_trials();
    return *trials;
  };

  int64_t& known = known_rungs_[{&study.storage(), trial.trial_id}];
  int64_t rung = std::max(known, completed_rungs(trial.system_attrs));
  bool rung_is_stored = false;  // `rung` read from the stored trial (the caller's copy may lag)
  const bool maximize = study.direction() == StudyDirection::kMaximize;
  while (true) {
    if (!min_resource_) {
      min_resource_ = estimate_min_resource(all());
      if (!min_resource_) return false;
    }
    const int64_t promotion_step = rung_step(*min_resource_, options_.reduction_factor(),
                                             options_.min_early_stopping_rate() + rung);
    if (step < promotion_step) {
      known = rung;
      return false;
    }
    if (!rung_is_stored) {
      rung_is_stored = true;
      for (const auto& t : all()) {
        if (t.trial_id == trial.trial_id) rung = std::max(rung, completed_rungs(t.system_attrs));
      }
      continue;
    }
    if (std::isnan(value)) return true;

    const std::string key = completed_rung_key(rung);
    study.storage().set_trial_system_attr(trial.trial_id, key, Json(value));
    std::vector<double> competing;
    for (const auto& t : all()) {
      auto it = t.system_attrs.find(key);
      if (t.trial_id != trial.trial_id && it != t.system_attrs.end() && it->second.is_number())
        competing.push_back(it->second.get<double>());
    }
    competing.push_back(value);
    if (static_cast<int64_t>(competing.size()) <= options_.bootstrap_count()) return true;
    if (!promotable(value, std::move(competing), options_.reduction_factor(), maximize))
      return true;
    ++rung;
  }
}

}  // namespace knob
