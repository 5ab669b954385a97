#include "knob/run/trainer_metrics.h"

#include <cctype>
#include <cmath>

#include "knob/core/error.h"
#include "knob/run/trial_protocol.h"

namespace knob {

const std::vector<TrainerMetric>& trainer_metrics() {
  static const std::vector<TrainerMetric> kMetrics = {
      {"val_accuracy", StudyDirection::kMaximize,
       "validation accuracy of the final model (higher is better)", true},
      {"val_loss", StudyDirection::kMinimize,
       "validation loss (train.loss) of the final model (lower is better)", true},
      {"train_loss", StudyDirection::kMinimize,
       "mean training loss of the last epoch (lower is better)", true},
      {"val_rmse", StudyDirection::kMinimize,
       "validation root mean squared error of the final model, regression (lower is better)", true},
      {"val_mae", StudyDirection::kMinimize,
       "validation mean absolute error of the final model, regression (lower is better)", true},
      {"val_r2", StudyDirection::kMaximize,
       "validation R² of the final model, regression (higher is better)", true},
      {"train_seconds", StudyDirection::kMinimize,
       "wall seconds of the whole run, validation included (lower is better)", false},
      {"params", StudyDirection::kMinimize, "trainable parameters of the model (fewer is better)",
       false},
      {"latency_ms", StudyDirection::kMinimize,
       "median milliseconds of a forward pass of one validation sample (lower is better)", false},
  };
  return kMetrics;
}

std::string trainer_metric_names() {
  std::string out;
  const auto& metrics = trainer_metrics();
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (i > 0) out += i + 1 == metrics.size() ? " or " : ", ";
    out += metrics[i].name;
  }
  return out;
}

const TrainerMetric& find_trainer_metric(const std::string& name, const std::string& field) {
  for (const auto& m : trainer_metrics()) {
    if (m.name == name) return m;
  }
  throw_invalid(field, name, "must be a trainer metric: " + trainer_metric_names());
}

std::map<std::string, double> trainer_metric_values(const TrainResult& r) {
  std::map<std::string, double> out = {{"val_loss", r.final_val_loss},
                                       {"train_seconds", r.seconds},
                                       {"params", static_cast<double>(r.params)},
                                       {"latency_ms", r.latency_ms}};
  if (!r.history.empty()) out["train_loss"] = r.history.back().train_loss;
  // The task's own metrics: those it does not compute are NaN and left out.
  const EpochMetrics& v = r.final_validation;
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"val_accuracy", r.final_val_accuracy},
        {"val_rmse", v.val_rmse},
        {"val_mae", v.val_mae},
        {"val_r2", v.val_r2}}) {
    if (!std::isnan(value)) out[name] = value;
  }
  return out;
}

std::string MetricConstraint::text() const {
  return metric + (at_most ? " <= " : " >= ") + detail::format_value(bound);
}

MetricConstraint parse_metric_constraint(const std::string& text, const std::string& field) {
  const std::string form =
      "must be METRIC <= NUMBER or METRIC >= NUMBER, e.g. \"train_seconds <= 300\", with "
      "METRIC one of " +
      trainer_metric_names();
  size_t op = text.find_first_of("<>");
  KNOB_CHECK(op != std::string::npos && op + 1 < text.size() && text[op + 1] == '=', field, text,
             form);
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
  };
  MetricConstraint c;
  c.metric = trim(text.substr(0, op));
  c.at_most = text[op] == '<';
  KNOB_CHECK(!c.metric.empty(), field, text, form);
  find_trainer_metric(c.metric, field + " (metric)");
  auto bound = parse_protocol_number(trim(text.substr(op + 2)));
  KNOB_CHECK(bound && std::isfinite(*bound), field, text,
             form + " (the bound must be a finite number)");
  c.bound = *bound;
  return c;
}

std::vector<double> constraint_values(const std::vector<MetricConstraint>& constraints,
                                      const std::map<std::string, double>& metrics) {
  std::vector<double> out;
  for (const auto& c : constraints) {
    auto it = metrics.find(c.metric);
    if (it == metrics.end()) {
      throw Error("constraint \"" + c.text() + "\": the trial has no " + c.metric + " metric");
    }
    out.push_back(c.at_most ? it->second - c.bound : c.bound - it->second);
  }
  return out;
}

}  // namespace knob
