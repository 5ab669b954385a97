#include "knob/train/lr_range.h"

#include <algorithm>
#include <cmath>

#include "knob/core/error.h"

namespace knob {

std::vector<double> sweep_learning_rates(const LrFindConfig& config) {
  std::vector<double> out;
  const auto n = static_cast<double>(config.steps - 1);
  for (int64_t i = 0; i < config.steps; ++i) {
    const double fraction = static_cast<double>(i) / n;
    out.push_back(config.mode == "linear"
                      ? config.start + (config.end - config.start) * fraction
                      : config.start * std::pow(config.end / config.start, fraction));
  }
  return out;
}

double LrSmoother::add(double value) {
  ++count_;
  average_ = beta_ * average_ + (1 - beta_) * value;
  return average_ / (1 - std::pow(beta_, static_cast<double>(count_)));
}

std::vector<LrSuggestion> suggest_learning_rates(const std::vector<double>& lrs,
                                                 const std::vector<double>& smoothed,
                                                 int64_t planned_steps) {
  const auto total = static_cast<int64_t>(std::min(lrs.size(), smoothed.size()));
  const int64_t first = planned_steps / 10;
  const int64_t last = total - 5;  // exclusive
  if (last - first < 2) return {};
  const int64_t n = last - first;
  auto lr = [&](int64_t i) { return lrs[static_cast<size_t>(first + i)]; };
  auto loss = [&](int64_t i) { return smoothed[static_cast<size_t>(first + i)]; };

  // Valley: the longest decreasing subsequence of the loss (O(n^2), n <= a few hundred).
  // As fastai does, the run's start is fixed when its end first becomes the longest, inside
  // the inner loop, so that the suggestion is the one fastai users know.
  std::vector<int64_t> run(static_cast<size_t>(n), 1);
  int64_t run_start = 0, run_end = 0;
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      if (loss(i) < loss(j) && run[static_cast<size_t>(i)] < run[static_cast<size_t>(j)] + 1) {
        run[static_cast<size_t>(i)] = run[static_cast<size_t>(j)] + 1;
      }
      if (run[static_cast<size_t>(run_end)] < run[static_cast<size_t>(i)]) {
        run_end = i;
        run_start = run_end - run[static_cast<size_t>(run_end)];
      }
    }
  }
  const double third = static_cast<double>(run_end - run_start) / 3;
  const int64_t valley = std::clamp<int64_t>(
      run_start + static_cast<int64_t>(third) + static_cast<int64_t>(third / 2), 0, n - 1);

  // Steepest: the most negative d(loss) / d(log lr) between neighbours.
  int64_t steepest = 0;
  double steepest_slope = INFINITY;
  for (int64_t i = 0; i + 1 < n; ++i) {
    const double slope = (loss(i + 1) - loss(i)) / (std::log(lr(i + 1)) - std::log(lr(i)));
    if (slope < steepest_slope) {
      steepest_slope = slope;
      steepest = i;
    }
  }

  int64_t minimum = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (loss(i) < loss(minimum)) minimum = i;
  }
  return {{"valley", lr(valley), first + valley},
          {"steepest", lr(steepest), first + steepest},
          {"minimum", lr(minimum) / 10, first + minimum}};
}

double suggested_lr(const LrFindResult& result, const LrFindConfig& settings) {
  if (result.chosen.empty()) {
    throw TrainingDiverged("lr-find: the loss diverged after " + std::to_string(result.lrs.size()) +
                           " steps, too few for a suggestion (" + settings.suggestion +
                           "); lower lr_find.end, raise lr_find.steps or set optimizer.lr");
  }
  return result.lr;
}

}  // namespace knob
