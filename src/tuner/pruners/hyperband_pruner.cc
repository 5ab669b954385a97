#include "knob/tuner/pruners/hyperband_pruner.h"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {

HyperbandPruner::HyperbandPruner(HyperbandPrunerOptions options) : options_(options) {
  KNOB_CHECK(options_.min_resource() >= 1, "min_resource", options_.min_resource(), "must be >= 1");
  KNOB_CHECK(!options_.max_resource() || *options_.max_resource() >= options_.min_resource(),
             "max_resource", *options_.max_resource(),
             "must be >= min_resource (" + std::to_string(options_.min_resource()) +
                 ") or \"auto\" (unset)");
  KNOB_CHECK(options_.reduction_factor() >= 2, "reduction_factor", options_.reduction_factor(),
             "must be >= 2");
  KNOB_CHECK(options_.bootstrap_count() >= 0, "bootstrap_count", options_.bootstrap_count(),
             "must be >= 0");
  KNOB_CHECK(options_.bootstrap_count() == 0 || options_.max_resource(), "bootstrap_count",
             options_.bootstrap_count(), "must be 0 when max_resource is \"auto\" (unset)");
  if (options_.max_resource()) make_brackets();
}

void HyperbandPruner::try_initialize(Study& study) {
  if (!options_.max_resource()) {
    // "auto": the longest completed trial's last step + 1.
    if (study.storage().n_trials(study.study_id(), TrialState::kComplete) == 0) return;
    std::optional<int64_t> longest;
    for (const auto& t : study.trials({TrialState::kComplete})) {
      if (auto last = t.last_step()) longest = std::max(longest.value_or(0), last->first);
    }
    if (!longest) return;
    options_.max_resource(*longest + 1);
  }
  make_brackets();
}

void HyperbandPruner::make_brackets() {
  initialized_ = true;
  const double rf = static_cast<double>(options_.reduction_factor());
  // Optuna's n_brackets = floor(log(max / min, rf)) + 1, computed as Python computes it
  // (log(x) / log(base) in doubles), so that e.g. 243 / 1 with rf 3 gives the same count.
  // With an "auto" max_resource below min_resource there are none and nothing is pruned.
  const double ratio =
      static_cast<double>(*options_.max_resource()) / static_cast<double>(options_.min_resource());
  const auto n = static_cast<int64_t>(std::floor(std::log(ratio) / std::log(rf))) + 1;
  for (int64_t bracket = 0; bracket < n; ++bracket) {
    const int64_t s = n - 1 - bracket;
    const double budget = std::ceil(static_cast<double>(n) * std::pow(rf, static_cast<double>(s)) /
                                    static_cast<double>(s + 1));
    budgets_.push_back(static_cast<int64_t>(budget));
    total_budget_ += budgets_.back();
    brackets_.emplace_back(SuccessiveHalvingPrunerOptions()
                               .min_resource(options_.min_resource())
                               .reduction_factor(options_.reduction_factor())
                               .min_early_stopping_rate(bracket)
                               .bootstrap_count(options_.bootstrap_count()));
  }
}

const SuccessiveHalvingPrunerOptions& HyperbandPruner::bracket_options(int64_t bracket) const {
  assert(bracket >= 0 && bracket < n_brackets());
  return brackets_[static_cast<size_t>(bracket)].options();
}

int64_t HyperbandPruner::bracket_of(const std::string& study_name, int64_t trial_number) const {
  if (brackets_.empty()) return 0;
  const std::string key = study_name + "_" + std::to_string(trial_number);
  // Optuna: binascii.crc32 of the UTF-8 text, the same CRC-32 as zlib's.
  const uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  auto n = static_cast<int64_t>(crc % static_cast<uLong>(total_budget_));
  for (int64_t bracket = 0; bracket < n_brackets(); ++bracket) {
    n -= budgets_[static_cast<size_t>(bracket)];
    if (n < 0) return bracket;
  }
  assert(false && "budgets add up to the total");
  return 0;
}

int64_t HyperbandPruner::bracket_of(const Study& study, const FrozenTrial& trial) const {
  return bracket_of(study.study_name(), trial.number);
}

bool HyperbandPruner::prune(Study& study, const FrozenTrial& trial) {
  if (!initialized_) try_initialize(study);
  if (brackets_.empty()) return false;
  const int64_t bracket = bracket_of(study, trial);
  auto same_bracket = [&] {
    std::vector<FrozenTrial> trials = study.trials();
    std::erase_if(trials, [&](const FrozenTrial& t) { return bracket_of(study, t) != bracket; });
    return trials;
  };
  return brackets_[static_cast<size_t>(bracket)].prune_among(study, trial, same_bracket);
}

}  // namespace knob
