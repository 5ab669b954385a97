// What a training run produces: per-step and per-epoch metrics and the result of the whole run.
// Torch-free, so programs that train through the plugin (trainer_plugin.h) see them without
// libtorch.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "knob/train/batch_find.h"
#include "knob/train/lr_range.h"

namespace knob {

// One optimizer step: what fit() passes to a StepCallback after optimizer.step().
struct StepMetrics {
  int64_t step = 0;        // global optimizer steps taken, this one included: 1 for the run's first
  int64_t epoch = 0;       // 0-based
  double loss = 0;         // this batch's mean train.loss (before any L1 penalty)
  double lr = 0;           // the learning rate this step used
  int64_t batch_size = 0;  // the epoch's batch size (its last batch may hold fewer examples)
  double accuracy = 0;     // share of this batch classified right, from the step's forward pass
                           // (NaN for regression)
};

struct EpochMetrics {
  int64_t epoch = 0;  // 0-based
  int64_t step = 0;   // global optimizer steps taken by the end of this epoch (its last step's)
  double train_loss = 0, val_loss = 0;
  double val_accuracy = 0;  // classification and multi-label (NaN for regression)
  // Regression only (NaN otherwise): root mean squared error, mean absolute error, R².
  double val_rmse = NAN, val_mae = NAN, val_r2 = NAN;
  double lr = 0;
  int64_t batch_size = 0;
  double seconds = 0;             // this epoch's wall time, validation included
  double samples_per_second = 0;  // training throughput of this epoch (the training loop alone)
};

struct TrainResult {
  std::vector<EpochMetrics> history;  // a resumed run's includes the epochs before the resume
  // "completed", "early_stopping", "time_budget" or "diverged".
  std::string stop_reason = "completed";
  std::string divergence;        // what diverged and at which step, when stop_reason is "diverged"
  std::string objective;         // the metric train.objective names (objective_of)
  int64_t best_epoch = -1;       // the epoch with the best objective
  double best_objective = NAN;   // its value
  double best_val_accuracy = 0;  // the best validation accuracy of any epoch (NaN: regression)
  // The validation metrics of the model the run ends with (the best epoch's if restored);
  // those the task does not compute are NaN, as in EpochMetrics.
  EpochMetrics final_validation;
  double final_val_accuracy = 0;  // its val_accuracy and val_loss again, by name
  double final_val_loss = 0;
  std::optional<double> test_accuracy;  // on the test set, when there is one (not regression)
  std::optional<double> test_loss;      // on the test set, when there is one
  int64_t resumed_epochs = 0;           // epochs read from a checkpoint instead of trained
  std::optional<LrFindResult> lr_find;  // the range test run for optimizer.lr = "find"
  // The base learning rate trained with: optimizer.lr, or with optimizer.lr = "find"
  // lr_find.factor x the suggestion (at batch.base under batch.scale_lr; before the schedule).
  double lr = 0;
  std::optional<BatchFindResult> batch_find;  // the finder run for batch.size = "find"
  double seconds = 0;
  // Of the model the run ends with (not set for a diverged run): its trainable parameters, and
  // the median milliseconds of a forward pass of one validation sample (a batch of one, no
  // gradients) over up to 32 samples, measured after `seconds` was taken.
  int64_t params = 0;
  double latency_ms = 0;
  std::string model_path;  // where output.model saved the trained model ("": not saved)
};

// Sees each epoch's metrics; it may throw (a tuner's TrialPruned) to stop the run.
using EpochCallback = std::function<void(const EpochMetrics&)>;
// Sees every optimizer step's metrics; it may throw to stop the run. Keep it cheap: it runs
// inside the training loop.
using StepCallback = std::function<void(const StepMetrics&)>;

}  // namespace knob
