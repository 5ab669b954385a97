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
  KNOB_CHECK(options_.n_min_trials() >= 1, "n_min_trials", options_.n_min_trials(),
             "must be >= 1");
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  double position = q / 100.0 * static_cast<double>(values.size() - 1);
  auto below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, values.size() - 1);
  double fraction = position - static_cast<double>(below);
  return values[below] + (values[above] - values[below]) * fraction;
}

bool MedianPruner::prune(Study& study, const FrozenTrial& trial) {
  auto last = trial.last_step();
  if (!last) return false;
  const int64_t step = last->first;
  if (step < options_.n_warmup_steps()) return false;
  if ((step - options_.n_warmup_steps()) % options_.interval_steps() != 0) return false;

  const bool maximize = study.direction() == StudyDirection::kMaximize;
  // The trial's best value over all its steps so far (NaNs ignored; all NaN prunes).
  std::optional<double> best;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (std::isnan(v)) continue;
    if (!best || (maximize ? v > *best : v < *best)) best = v;
  }
  if (!best) return true;

  std::vector<FrozenTrial> completed = study.trials({TrialState::kComplete});
  if (static_cast<int64_t>(completed.size()) < options_.n_startup_trials()) return false;
  std::vector<double> at_step;
  for (const auto& t : completed) {
    auto it = t.intermediate_values.find(step);
    if (it != t.intermediate_values.end() && !std::isnan(it->second)) at_step.push_back(it->second);
  }
  if (static_cast<int64_t>(at_step.size()) < options_.n_min_trials()) return false;
  double median = percentile(at_step, 50.0);
  return maximize ? *best < median : *best > median;
}

}  // namespace knob
