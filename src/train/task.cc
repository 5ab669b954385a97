#include "knob/train/task.h"

#include <cmath>

#include "knob/core/error.h"

namespace knob {

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> kLosses = {"cross_entropy", "bce_with_logits", "mse", "l1",
                                                   "smooth_l1"};
  return kLosses;
}

Task task_of(const std::string& loss) {
  if (loss == "cross_entropy") return Task::kClassification;
  if (loss == "bce_with_logits") return Task::kMultiLabel;
  if (loss == "mse" || loss == "l1" || loss == "smooth_l1") return Task::kRegression;
  std::string list;
  for (const auto& l : loss_names()) list += (list.empty() ? "" : ", ") + l;
  throw_invalid("train.loss", loss, "must be one of " + list);
}

std::vector<std::string> epoch_metric_names(Task task) {
  std::vector<std::string> names = {"train_loss", "val_loss"};
  if (task == Task::kRegression) {
    names.insert(names.end(), {"val_rmse", "val_mae", "val_r2"});
  } else {
    names.push_back("val_accuracy");
  }
  return names;
}

bool metric_maximized(const std::string& metric) {
  return metric == "val_accuracy" || metric == "val_r2";
}

std::string objective_of(const TrainConfig& config) {
  if (!config.train.objective.empty()) return config.train.objective;
  return task_of(config.train.loss) == Task::kRegression ? "val_loss" : "val_accuracy";
}

std::string monitor_of(const TrainConfig& config) {
  return config.train.monitor.empty() ? objective_of(config) : config.train.monitor;
}

void check_epoch_metric(const std::string& metric, const std::string& field) {
  static const std::vector<std::string> kMetrics = {"val_accuracy", "val_loss", "train_loss",
                                                    "val_rmse",     "val_mae",  "val_r2"};
  for (const auto& m : kMetrics) {
    if (m == metric) return;
  }
  throw_invalid(field, metric,
                "must be a per-epoch metric: val_accuracy, val_loss, train_loss, val_rmse, "
                "val_mae or val_r2");
}

double epoch_metric(const EpochMetrics& m, const std::string& metric) {
  if (metric == "train_loss") return m.train_loss;
  if (metric == "val_loss") return m.val_loss;
  if (metric == "val_accuracy") return m.val_accuracy;
  if (metric == "val_rmse") return m.val_rmse;
  if (metric == "val_mae") return m.val_mae;
  if (metric == "val_r2") return m.val_r2;
  check_epoch_metric(metric, "metric");  // throws: none of the above
  return NAN;
}

}  // namespace knob
