#include "knob/tuner/pruners/curve_pruner.h"

#include <cmath>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/tuner/study.h"
#include "tuner/pruners/curve/curve_forecast.h"
#include "tuner/pruners/pruning_interval.h"

namespace knob {

CurvePruner::CurvePruner(CurvePrunerOptions options) : options_(options) {
  if (options_.max_resource()) {
    KNOB_CHECK(*options_.max_resource() >= 2, "max_resource", *options_.max_resource(),
               "must be \"auto\" or an integer >= 2 (the steps a full trial reports)");
  }
  KNOB_CHECK(options_.probability() > 0.0 && options_.probability() < 1.0, "probability",
             options_.probability(), "must be in (0, 1), e.g. 0.05");
  KNOB_CHECK(options_.n_startup_trials() >= 0, "n_startup_trials", options_.n_startup_trials(),
             "must be >= 0");
  KNOB_CHECK(options_.n_warmup_steps() >= 0, "n_warmup_steps", options_.n_warmup_steps(),
             "must be >= 0");
  KNOB_CHECK(options_.interval_steps() >= 1, "interval_steps", options_.interval_steps(),
             "must be >= 1");
  KNOB_CHECK(options_.min_reports() >= 3, "min_reports", options_.min_reports(),
             "must be >= 3 (the fewest points a two-parameter curve is fitted to)");
}

void CurvePruner::refresh(Study& study) {
  completed_.update(
      study,
      [&] {
        best_max_.reset();
        best_min_.reset();
        longest_last_step_.reset();
      },
      [&](const FrozenTrial& t) {
        const auto last = t.last_step();
        if (!last) return;
        if (!longest_last_step_ || last->first > *longest_last_step_)
          longest_last_step_ = last->first;
        const double v = last->second;
        if (std::isnan(v)) return;
        if (!best_max_ || v > *best_max_) best_max_ = v;
        if (!best_min_ || v < *best_min_) best_min_ = v;
      });
}

std::optional<double> CurvePruner::probability_to_beat(const FrozenTrial& trial, int64_t last_step,
                                                       double best, bool maximize) const {
  // x = step + 1 >= 1, values turned so that higher is better.
  std::vector<double> x, y;
  for (const auto& [step, value] : trial.intermediate_values) {
    if (step < 0 || !std::isfinite(value)) continue;
    x.push_back(static_cast<double>(step) + 1.0);
    y.push_back(maximize ? value : -value);
  }
  if (static_cast<int64_t>(x.size()) < options_.min_reports()) return std::nullopt;
  const detail::CurveForecast forecast =
      detail::forecast_curve(x, y, static_cast<double>(last_step) + 1.0);
  if (forecast.members.empty()) return std::nullopt;
  return forecast.probability_above(maximize ? best : -best);
}

bool CurvePruner::prune(Study& study, const FrozenTrial& trial) {
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
  const std::optional<double> best = maximize ? best_max_ : best_min_;
  if (!best) return false;

  // The step whose value decides: the option's, the trial's own, or the longest completed.
  std::optional<int64_t> last_step;
  if (options_.max_resource()) {
    last_step = *options_.max_resource() - 1;
  } else if (auto it = trial.user_attrs.find("max_resource"); it != trial.user_attrs.end() &&
                                                              it->second.is_number_integer() &&
                                                              it->second.get<int64_t>() >= 1) {
    last_step = it->second.get<int64_t>() - 1;
  } else {
    last_step = longest_last_step_;
  }
  if (!last_step || step >= *last_step) return false;  // nothing left to save

  const auto p = probability_to_beat(trial, *last_step, *best, maximize);
  return p && *p < options_.probability();
}

}  // namespace knob
