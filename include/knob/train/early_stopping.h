// Early stopping with Keras's semantics: monitor a metric, count epochs without an
// improvement larger than min_delta, stop after `patience` of them; a baseline must also be
// beaten to reset the count; nothing is judged before start_from_epoch. Torch-free.
//
// Example (stop after 3 epochs without a gain of 0.001 in validation accuracy):
//   knob::EarlyStopping stop({.maximize = true, .patience = 3, .min_delta = 1e-3});
//   for (int64_t epoch = 1; epoch <= 100; ++epoch)
//     if (stop.update(epoch, train_and_validate(epoch))) break;  // best(): stop.best_epoch()
#pragma once

#include <cstdint>
#include <optional>

namespace knob {

struct EarlyStoppingOptions {
  bool maximize = true;  // accuracy: true; loss: false
  int64_t patience = 0;  // 0: never stop
  double min_delta = 0.0;
  std::optional<double> baseline;
  int64_t start_from_epoch = 0;
};

class EarlyStopping {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options) : options_(options) {}
  // Records epoch `epoch`'s metric; returns true when training should stop now.
  bool update(int64_t epoch, double metric);
  // Whether the last update was a new best (for restoring the best weights).
  bool improved() const { return improved_; }
  std::optional<double> best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }

 private:
  bool better(double value, double reference) const;
  EarlyStoppingOptions options_;
  std::optional<double> best_;
  int64_t best_epoch_ = -1;
  int64_t wait_ = 0;
  bool improved_ = false;
};

}  // namespace knob
