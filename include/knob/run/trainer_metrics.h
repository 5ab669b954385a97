// The trainer's metrics a study optimizes or constrains: `[study] objectives` names one per
// direction and `[study] constraints` bounds them ("train_seconds <= 300"). Each metric has the
// direction its meaning implies (accuracy up, loss, time, size and latency down), so a config
// that maximizes val_loss is refused before any trial.
//
// Example:
//   auto c = knob::parse_metric_constraint("train_seconds <= 300", "study.constraints[0]");
//   std::vector<double> v = knob::constraint_values({c}, knob::trainer_metric_values(result));
//   // v[0] <= 0: feasible, as Optuna's constraints_func
#pragma once

#include <map>
#include <string>
#include <vector>

#include "knob/core/trial_state.h"
#include "knob/train/train_result.h"

namespace knob {

struct TrainerMetric {
  std::string name;        // val_accuracy, val_loss, train_seconds, params, latency_ms
  StudyDirection better;   // the direction its meaning implies
  std::string meaning;     // for error messages and docs
  bool per_epoch = false;  // reported after every epoch (single-objective studies prune on it)
};

const std::vector<TrainerMetric>& trainer_metrics();
// The metric `name`; throws InvalidArgument naming `field` and listing the metrics otherwise.
const TrainerMetric& find_trainer_metric(const std::string& name, const std::string& field);
// "val_accuracy, val_loss, train_seconds, params or latency_ms".
std::string trainer_metric_names();

// Every metric of a finished run, by name (the trial's "metrics" user attribute).
std::map<std::string, double> trainer_metric_values(const TrainResult& result);

// METRIC <= BOUND or METRIC >= BOUND.
struct MetricConstraint {
  std::string metric;
  bool at_most = true;  // "<="
  double bound = 0;
  std::string text() const;  // "train_seconds <= 300"
};

// Parses "train_seconds <= 300" (blanks optional); InvalidArgument naming `field`, the text
// and the form allowed otherwise.
MetricConstraint parse_metric_constraint(const std::string& text, const std::string& field);

// Optuna's constraint values, one per constraint, <= 0 when it holds: METRIC - BOUND for <=,
// BOUND - METRIC for >=. Throws Error when a metric is missing from `metrics`.
std::vector<double> constraint_values(const std::vector<MetricConstraint>& constraints,
                                      const std::map<std::string, double>& metrics);

}  // namespace knob
