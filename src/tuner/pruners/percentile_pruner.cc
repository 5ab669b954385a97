#include "knob/tuner/pruners/percentile_pruner.h"

#include <algorithm>
#include <cmath>

#include "knob/core/error.h"
#include "knob/tuner/study.h"
#include "tuner/pruners/pruning_interval.h"

namespace knob {

PercentilePruner::PercentilePruner(PercentilePrunerOptions options) : options_(options) {
  KNOB_CHECK(options_.percentile() >= 0.0 && options_.percentile() <= 100.0, "percentile",
             options_.percentile(), "must be in [0, 100]");
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  KNOB_CHECK(options_.n_warmup_steps() >= 0, "n_warmup_steps", options_.n_warmup_steps(),
             "must be >= 0");
  KNOB_CHECK(options_.interval_steps() >= 1, "interval_steps", options_.interval_steps(),
             "must be >= 1");
  KNOB_CHECK(options_.n_min_trials() >= 1, "n_min_trials", options_.n_min_trials(), "must be >= 1");
}

namespace detail {

double sorted_percentile(const std::vector<double>& sorted, double q) {
  double position = q / 100.0 * static_cast<double>(sorted.size() - 1);
  auto below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, sorted.size() - 1);
  double fraction = position - static_cast<double>(below);
  // numpy's _lerp, term for term: from the nearer end, so results match numpy to the bit.
  double diff = sorted[above] - sorted[below];
  return fraction >= 0.5 ? sorted[above] - diff * (1.0 - fraction)
                         : sorted[below] + diff * fraction;
}

}  // namespace detail

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return detail::sorted_percentile(values, q);
}

void PercentilePruner::refresh(Study& study) {
  completed_.update(
      study, [&] { steps_.clear(); },
      [&](const FrozenTrial& t) {
        for (const auto& [step, value] : t.intermediate_values) {
          StepValues& at = steps_[step];
          ++at.reported;
          if (!std::isnan(value))
            at.sorted.insert(std::upper_bound(at.sorted.begin(), at.sorted.end(), value), value);
        }
      });
}

bool PercentilePruner::prune(Study& study, const FrozenTrial& trial) {
  // Optuna's PercentilePruner.prune; the cheap checks come first, which changes no result:
  // every check before the all-NaN one only returns false.
  auto last = trial.last_step();
  if (!last) return false;
  const int64_t step = last->first;
  if (!detail::is_judged_step(trial.intermediate_values, step, options_.n_warmup_steps(),
                              options_.interval_steps()))
    return false;

  refresh(study);
  const auto n_completed = static_cast<int64_t>(completed_.count());
  if (n_completed == 0 || n_completed < options_.n_startup_trials()) return false;

  const bool maximize = study.direction() == StudyDirection::kMaximize;
  // The trial's best value over all its steps so far (NaNs ignored; all NaN prunes).
  std::optional<double> best;
  for (const auto& [s, v] : trial.intermediate_values) {
    if (std::isnan(v)) continue;
    if (!best || (maximize ? v > *best : v < *best)) best = v;
  }
  if (!best) return true;

  // Trials that reported this step count towards n_min_trials even when the value is NaN;
  // the percentile ignores NaNs (numpy.nanpercentile), and is undefined when all are NaN.
  auto at = steps_.find(step);
  if (at == steps_.end() || at->second.reported < options_.n_min_trials() ||
      at->second.sorted.empty())
    return false;
  const double q = maximize ? 100.0 - options_.percentile() : options_.percentile();
  const double p = detail::sorted_percentile(at->second.sorted, q);
  return maximize ? *best < p : *best > p;
}

}  // namespace knob
