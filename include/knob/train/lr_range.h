// The learning-rate range test's curve and its suggestions (Smith 2015/2017; as fastai's
// lr_find and torch-lr-finder define them). The sweep itself runs in the trainer
// (Trainer::find_lr, knob lr-find); this header is the torch-free part: the learning rates
// of the sweep, the smoothing, and the three suggestions read off the smoothed curve.
//
// Example:
//   std::vector<double> lrs = knob::sweep_learning_rates(config.lr_find);
//   knob::LrSmoother smooth(0.98);
//   for (...) smoothed.push_back(smooth.add(loss));
//   auto suggestions = knob::suggest_learning_rates(lrs, smoothed, config.lr_find.steps);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "knob/train/config.h"

namespace knob {

struct LrSuggestion {
  std::string name;  // "valley", "steepest" or "minimum"
  double lr = 0;
  int64_t index = -1;  // the point of the curve it was read at ("minimum": the minimum's)
};

struct LrFindResult {
  std::vector<double> lrs;                // the learning rate of each step done
  std::vector<double> losses;             // the raw mini-batch loss
  std::vector<double> smoothed;           // bias-corrected exponential moving average of the loss
  std::vector<LrSuggestion> suggestions;  // those the curve allows, in the order above
  std::string chosen;                     // lr_find.suggestion, when it could be computed
  double lr = 0;                          // the chosen suggestion's learning rate
  std::string stop_reason;  // "completed" or "diverged" (smoothed loss past diverge x best)
  int64_t batch_size = 0;
  double seconds = 0;
};

// The `steps` learning rates from start to end, evenly spaced on a log or linear scale.
std::vector<double> sweep_learning_rates(const LrFindConfig& config);

// Bias-corrected exponential moving average: after n values, the weighted mean
// sum beta^(n-i) (1-beta) x_i / (1 - beta^n), so the first value is not pulled towards 0.
class LrSmoother {
 public:
  explicit LrSmoother(double beta) : beta_(beta) {}
  double add(double value);

 private:
  double beta_;
  double average_ = 0;
  int64_t count_ = 0;
};

// Suggestions on the smoothed curve without its first planned_steps / 10 points and its last
// 5 (as fastai slices it, also when the sweep stopped early):
//  - valley:   the middle of the longest run over which the loss keeps falling (fastai's
//              default), 1/3 + 1/6 of the way along it;
//  - steepest: where the loss falls fastest per log-step of the learning rate;
//  - minimum:  the learning rate of the lowest loss, divided by 10.
// Fewer than 2 points left: none.
std::vector<LrSuggestion> suggest_learning_rates(const std::vector<double>& lrs,
                                                 const std::vector<double>& smoothed,
                                                 int64_t planned_steps);

// The chosen suggestion's learning rate; throws TrainingDiverged when the loss diverged before
// one could be read (optimizer.lr = "find" cannot train then), naming what to change.
double suggested_lr(const LrFindResult& result, const LrFindConfig& settings);

}  // namespace knob
