// The task a training run solves, implied by its loss (train.loss), and the per-epoch metrics
// that fit it:
//   cross_entropy    classification (int class labels): val_accuracy, val_loss, train_loss
//   bce_with_logits  multi-label (0/1 targets, one per output): val_accuracy (per label, logit
//                    > 0 against target > 0.5), val_loss, train_loss
//   mse, l1,         regression (float targets): val_rmse, val_mae, val_r2 (R², outputs
//   smooth_l1        averaged), val_loss, train_loss
// train.objective names the metric a trial reports per epoch and returns; train.monitor the
// one early stopping and the plateau schedule watch. Both default to the task's
// (val_accuracy for classification, val_loss for regression). Torch-free.
//
// Example:
//   knob::Task task = knob::task_of("mse");                     // Task::kRegression
//   double v = knob::epoch_metric(m, knob::objective_of(config));  // m: an EpochMetrics
//   bool up = knob::metric_maximized("val_r2");                 // true
#pragma once

#include <string>
#include <vector>

#include "knob/train/config.h"
#include "knob/train/train_result.h"

namespace knob {

enum class Task { kClassification, kMultiLabel, kRegression };

// The losses train.loss accepts, in the order docs list them.
const std::vector<std::string>& loss_names();
// The task of a loss; throws InvalidArgument naming train.loss for an unknown one.
Task task_of(const std::string& loss);

// The per-epoch metrics of a task: train_loss, val_loss, then the task's own.
std::vector<std::string> epoch_metric_names(Task task);
// Whether larger is better (val_accuracy, val_r2) or smaller (losses, errors).
bool metric_maximized(const std::string& metric);

// train.objective, or the task's default when it is unset ("").
std::string objective_of(const TrainConfig& config);
// train.monitor, or objective_of(config) when it is unset ("").
std::string monitor_of(const TrainConfig& config);

// Throws InvalidArgument naming `field` unless `metric` is a per-epoch metric of some task.
void check_epoch_metric(const std::string& metric, const std::string& field);

// The value of a per-epoch metric (one of epoch_metric_names of some task); NaN where the
// run's task does not compute it.
double epoch_metric(const EpochMetrics& m, const std::string& metric);

}  // namespace knob
