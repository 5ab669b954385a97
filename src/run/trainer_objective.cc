#include "knob/run/trainer_objective.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>

#include "knob/core/error.h"
#include "knob/run/child_process.h"
#include "knob/run/lr_prior.h"
#include "knob/run/trainer_metrics.h"
#include "knob/run/trial_protocol.h"
#include "knob/train/config.h"
#include "knob/train/task.h"
#include "knob/train/trainer_plugin.h"
#include "tensorboard_log.h"

namespace knob::run {
namespace {

using detail::TensorBoardLog;

Json metrics_json(const std::map<std::string, double>& metrics) {
  Json out = Json::object();
  for (const auto& [name, value] : metrics) out[name] = value;
  return out;
}

std::vector<double> objective_values(const std::map<std::string, double>& metrics,
                                     const std::vector<std::string>& objectives) {
  std::vector<double> values;
  for (const auto& name : objectives) values.push_back(metrics.at(name));
  return values;
}

// KNOB_OBJECTIVES of a `knob train --protocol` child: "val_accuracy,train_seconds"; unset,
// train.objective's metric.
std::vector<std::string> objectives_from_env(const TrainConfig& config) {
  const char* text = std::getenv(kObjectivesEnv);
  if (!text || !*text) return {objective_of(config)};
  std::vector<std::string> out;
  std::string item;
  for (const char* p = text;; ++p) {
    if (*p == ',' || *p == '\0') {
      find_trainer_metric(item, kObjectivesEnv);
      out.push_back(item);
      item.clear();
      if (*p == '\0') break;
    } else {
      item += *p;
    }
  }
  return out;
}

// train.device = "cuda" with several GPUs visible: trial N trains on cuda:(N mod GPUs), so
// trials run side by side (--jobs) spread over the devices. Untested here: this machine's
// libtorch has no CUDA (docs/your_model.md).
void spread_over_devices(TrainConfig& config, int64_t trial_number) {
  if (config.train.device != "cuda") return;
  const int64_t devices = cuda_devices_with_plugin();
  if (devices > 1) config.train.device = "cuda:" + std::to_string(trial_number % devices);
}

// With optimizer.lr = "find", the trial's learning rate (factor x the range test's
// suggestion) is kept as this user attribute: its params hold only the factor.
constexpr const char* kLrAttr = "optimizer.lr";

double trained_lr(const TrainConfig& config) {
  return config.lr_find.known * config.lr_find.factor;
}

// A diverged run ends its trial PRUNED, not FAIL: samplers leave FAIL trials out of their model,
// so a region where every trial diverges would keep being proposed (docs/config.md).
std::string diverged_reason(const TrainResult& result) {
  return "training diverged: " + result.divergence;
}

}  // namespace

std::function<std::vector<double>(const FrozenTrial&)> make_metric_constraints_func(
    std::vector<MetricConstraint> constraints) {
  return [constraints = std::move(constraints)](const FrozenTrial& trial) {
    auto attr = trial.user_attrs.find(kMetricsAttr);
    if (attr == trial.user_attrs.end() || !attr->second.is_object()) {
      return std::vector<double>(constraints.size(), std::numeric_limits<double>::infinity());
    }
    std::map<std::string, double> metrics;
    for (const auto& [name, value] : attr->second.items()) {
      if (value.is_number()) metrics[name] = value.get<double>();
    }
    return constraint_values(constraints, metrics);
  };
}

std::optional<std::string> reported_metric(const std::vector<std::string>& objectives) {
  if (objectives.size() != 1) return std::nullopt;  // Optuna refuses reports there
  const TrainerMetric& m = find_trainer_metric(objectives[0], "objectives");
  if (!m.per_epoch) return std::nullopt;
  return m.name;
}

Json empty_history() {
  return {{"val_accuracy", Json::array()}, {"val_loss", Json::array()},
          {"train_loss", Json::array()},   {"lr", Json::array()},
          {"batch_size", Json::array()},   {"seconds", Json::array()}};
}

void record_epoch(Json& history, const EpochMetrics& m) {
  // The metrics of the run's task only (a regression has no accuracy, a classifier no RMSE).
  for (const char* name : {"val_accuracy", "val_rmse", "val_mae", "val_r2"}) {
    const double value = epoch_metric(m, name);
    if (!std::isnan(value)) history[name].push_back(value);
  }
  history["val_loss"].push_back(m.val_loss);
  history["train_loss"].push_back(m.train_loss);
  history["lr"].push_back(m.lr);
  history["batch_size"].push_back(m.batch_size);
  history["seconds"].push_back(m.seconds);
}

std::string trial_log_dir(const std::string& dir, int64_t number) {
  if (dir.empty()) return dir;
  return (std::filesystem::path(dir) / ("trial-" + std::to_string(number))).string();
}

void check_tensorboard_dir(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  KNOB_CHECK(!ec && std::filesystem::is_directory(dir), "--tensorboard", dir,
             "must be a directory knob can create" + (ec ? " (" + ec.message() + ")" : ""));
}

std::function<std::vector<double>(Trial&)> make_trainer_objective(
    const TrainConfig& base, const std::vector<SearchParam>& space, const std::string& tensorboard,
    const std::vector<std::string>& objectives, const std::optional<ModelKeeping>& keeping) {
  check_tensorboard_dir(tensorboard);
  const std::optional<std::string> reported = reported_metric(objectives);
  return [base, space, tensorboard, objectives, reported, keeping](Trial& trial) {
    TrainConfig config = base;
    for (const auto& [name, value] : suggest_params(trial, space))
      set_config_value(config, name, value);
    config.output.progress = false;
    config.output.metrics.clear();
    if (keeping) {
      const TrialFiles files = keeping->files(trial.study());
      files.adopt(trial.snapshot());
      files.configure(trial.number(), config);
    }
    spread_over_devices(config, trial.number());
    if (config.lr_find.use) {
      apply_lr_prior(trial.study(), config, trial.number(), find_lr_with_plugin);
      trial.set_user_attr(kLrAttr, trained_lr(config));
    }
    // The epochs a full run reports: CurvePruner extrapolates the curve to the last of them.
    if (reported) trial.set_user_attr(kMaxResourceAttr, config.train.epochs);
    Json history = empty_history();
    TensorBoardLog log(trial_log_dir(tensorboard, trial.number()));
    TrainResult result;
    try {
      auto on_epoch = [&](const EpochMetrics& m) {
        record_epoch(history, m);
        log.on_epoch(m);
        if (!reported) return;
        const double value = epoch_metric(m, *reported);
        trial.report(value, m.epoch);
        if (trial.should_prune()) {
          throw TrialPruned("pruned after epoch " + std::to_string(m.epoch) + " (" + *reported +
                            " " + dumps(Json(value)) + ")");
        }
      };
      result = train_with_plugin(config, on_epoch, log.on_step());
    } catch (const TrialPruned&) {
      trial.set_user_attr("history", history);
      throw;
    }
    trial.set_user_attr("history", history);
    trial.set_user_attr("stop_reason", result.stop_reason);
    if (result.test_accuracy) trial.set_user_attr("test_accuracy", *result.test_accuracy);
    if (!result.model_path.empty()) trial.set_user_attr("model_path", result.model_path);
    if (result.resumed_epochs > 0) trial.set_user_attr("resumed_epochs", result.resumed_epochs);
    if (result.stop_reason == "diverged") {
      const std::string reason = diverged_reason(result);
      trial.study().storage().set_trial_system_attr(trial.trial_id(), kPruneReasonAttr,
                                                    Json(reason));
      throw TrialPruned(reason);
    }
    const auto metrics = trainer_metric_values(result);
    trial.set_user_attr(kMetricsAttr, metrics_json(metrics));
    return objective_values(metrics, objectives);
  };
}

std::string toml_text(const std::string& name, const ParamValue& value) {
  if (const double* x = std::get_if<double>(&value)) {
    if (std::isnan(*x)) return "nan";
    if (std::isinf(*x)) return *x > 0 ? "inf" : "-inf";
    return dumps(Json(*x));  // always with '.' or 'e': 3.0, 1e-05
  }
  if (const std::string* text = std::get_if<std::string>(&value)) {
    std::string out = "\"";
    for (unsigned char c : *text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04X", c);
        out += escaped;
      } else {
        out += static_cast<char>(c);  // UTF-8 passes through
      }
    }
    return out + "\"";
  }
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  throw_invalid("search." + name, std::string("None"),
                "cannot be passed to `knob train --set` (TOML has no null)");
}

CommandObjective make_isolated_trainer_objective(const std::vector<SearchParam>& space,
                                                 const IsolatedTrainerOptions& options) {
  std::vector<std::string> argv = {options.executable(), "train",
                                   escape_placeholders(options.config())};
  for (const auto& o : options.overrides())
    argv.insert(argv.end(), {"--set", escape_placeholders(o)});
  if (options.threads())
    argv.insert(argv.end(), {"--set", "train.threads=" + std::to_string(*options.threads())});
  argv.insert(argv.end(), {"--set", "output.metrics=\"\""});
  for (const auto& p : space) {
    argv.insert(argv.end(), {"--set", escape_placeholders(p.name) + "={" + p.name + "}"});
  }
  if (!options.tensorboard().empty())  // the child adds trial-$KNOB_TRIAL_NUMBER
    argv.insert(argv.end(), {"--tensorboard", escape_placeholders(options.tensorboard())});
  argv.insert(argv.end(), {"--quiet", "--protocol"});
  std::string objectives;
  for (const auto& name : options.objectives()) {
    find_trainer_metric(name, "objectives");
    objectives += (objectives.empty() ? "" : ",") + name;
  }
  return CommandObjective(
      argv, space,
      CommandOptions()
          .storage_url(options.storage_url())
          .env({{kObjectivesEnv, objectives}, {kKeepModelsEnv, options.keep_models().value_or("")}})
          .format_value(toml_text)
          .name("knob train"));
}

void run_train_protocol(const TrainConfig& config, const std::string& tensorboard) {
  die_with_parent();  // nobody reads a trial whose parent has died: go with it
  const std::vector<std::string> objectives = objectives_from_env(config);
  const std::optional<std::string> reported = reported_metric(objectives);
  Json history = empty_history();
  const char* number = std::getenv("KNOB_TRIAL_NUMBER");
  TrainConfig trial_config = config;
  const char* keep = std::getenv(kKeepModelsEnv);
  const char* storage = std::getenv("KNOB_STORAGE");
  const char* study = std::getenv("KNOB_STUDY_NAME");
  if (keep && *keep && number && storage && study) {  // the parent adopted a retry's checkpoint
    TrialFiles(models_dir(storage, study), keep).configure(std::atoll(number), trial_config);
  }
  if (number) spread_over_devices(trial_config, std::atoll(number));
  if (trial_config.lr_find.use && number && storage && *storage && study) {
    // The study's range-test prior, as the parent's in-process trials use it.
    Study shared = load_study(StudyOptions().storage(storage).study_name(study));
    apply_lr_prior(shared, trial_config, std::atoll(number), find_lr_with_plugin);
    write_protocol_line(protocol_attr_line(kLrAttr, Json(trained_lr(trial_config))));
  }
  TensorBoardLog log(number ? trial_log_dir(tensorboard, std::atoll(number)) : tensorboard);
  if (reported) {
    write_protocol_line(protocol_attr_line(kMaxResourceAttr, Json(trial_config.train.epochs)));
  }
  auto on_epoch = [&](const EpochMetrics& m) {
    record_epoch(history, m);
    log.on_epoch(m);
    write_protocol_line(protocol_attr_line("history", history));
    if (reported) write_protocol_line(protocol_report_line(m.epoch, epoch_metric(m, *reported)));
  };
  TrainResult result = train_with_plugin(trial_config, on_epoch, log.on_step());
  write_protocol_line(protocol_attr_line("history", history));
  write_protocol_line(protocol_attr_line("stop_reason", Json(result.stop_reason)));
  if (result.test_accuracy)
    write_protocol_line(protocol_attr_line("test_accuracy", Json(*result.test_accuracy)));
  if (!result.model_path.empty())
    write_protocol_line(protocol_attr_line("model_path", Json(result.model_path)));
  if (result.resumed_epochs > 0)
    write_protocol_line(protocol_attr_line("resumed_epochs", Json(result.resumed_epochs)));
  if (result.stop_reason == "diverged")
    return write_protocol_line(protocol_prune_line(diverged_reason(result)));
  const auto metrics = trainer_metric_values(result);
  write_protocol_line(protocol_attr_line(kMetricsAttr, metrics_json(metrics)));
  write_protocol_line(protocol_value_line(objective_values(metrics, objectives)));
}

}  // namespace knob::run
