#include "knob/tuner/median_pruner.h"

#include <algorithm>
#include <cmath>

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {

MedianPruner::MedianPruner(MedianPrunerOptions options) : options_(options) {
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  KNOB_CHECK(options_.n_warmup_steps() >= 0, "n_warmup_steps", options_.n_warmup_steps(),
             "must be >= 0");
  KNOB_CHECK(options_.interval_steps() >= 1, "interval_steps", options_.interval_steps(),
             "must be >= 1");
  KNOB_CHECK(options_.n_min_trials() >= 1, "n_min_trials", options_.n_min_trials(), "must be >= 1");
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  double position = q / 100.0 * static_cast<double>(values.size() - 1);
  auto below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, values.size() - 1);
  double fraction = position - static_cast<double>(below);
  // numpy's _lerp, term for term: from the nearer end, so results match numpy to the bit.
  double diff = values[above] - values[below];
  return fraction >= 0.5 ? values[above] - diff * (1.0 - fraction)
                         : values[below] + diff * fraction;
}

bool MedianPruner::prune(Study& study, const FrozenTrial& trial) {
  // Optuna's PercentilePruner.prune (percentile 50); the cheap checks come first, which
  // changes no result: every check before the all-NaN one only returns false.
  auto last = trial.last_step();
  if (!last) return false;
  const int64_t step = last->first;
  const int64_t warmup = options_.n_warmup_steps();
  if (step < warmup) return false;
  // Judge only the first reported step of each interval after the warm-up (steps need not
  // be contiguous: reports at 0 and 3 with interval 2 judge step 3).
  const int64_t interval_start =
      (step - warmup) / options_.interval_steps() * options_.interval_steps() + warmup;
  int64_t previous_step = -1;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (s != step) previous_step = std::max(previous_step, s);
  }
  if (previous_step >= interval_start) return false;

  std::vector<FrozenTrial> completed = study.trials({TrialState::kComplete});
  if (completed.empty()) return false;
  if (static_cast<int64_t>(completed.size()) < options_.n_startup_trials()) return false;

  const bool maximize = study.direction() == StudyDirection::kMaximize;
  // The trial's best value over all its steps so far (NaNs ignored; all NaN prunes).
  std::optional<double> best;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (std::isnan(v)) continue;
    if (!best || (maximize ? v > *best : v < *best)) best = v;
  }
  if (!best) return true;

  // Trials that reported this step count towards n_min_trials even when the value is NaN;
  // the median ignores NaNs (numpy.nanpercentile), and is undefined when all are NaN.
  int64_t reported = 0;
  std::vector<double> at_step;
  for (const auto& t : completed) {
    auto it = t.intermediate_values.find(step);
    if (it == t.intermediate_values.end()) continue;
    ++reported;
    if (!std::isnan(it->second)) at_step.push_back(it->second);
  }
  if (reported < options_.n_min_trials() || at_step.empty()) return false;
  double median = percentile(at_step, 50.0);
  return maximize ? *best < median : *best > median;
}

}  // namespace knob
