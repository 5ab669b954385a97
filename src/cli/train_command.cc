#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/report/tensorboard.h"
#include "knob/train/config.h"
#include "knob/train/metric_scalars.h"
#include "knob/train/trainer_plugin.h"
#include "trainer_objective.h"

namespace knob::cli {
namespace {

// A trial's "history" user attribute: per-epoch metrics, one list each.
Json empty_history() {
  return {{"val_accuracy", Json::array()}, {"val_loss", Json::array()},
          {"train_loss", Json::array()},   {"lr", Json::array()},
          {"batch_size", Json::array()},   {"seconds", Json::array()}};
}

void record_epoch(Json& history, const EpochMetrics& m) {
  history["val_accuracy"].push_back(m.val_accuracy);
  history["val_loss"].push_back(m.val_loss);
  history["train_loss"].push_back(m.train_loss);
  history["lr"].push_back(m.lr);
  history["batch_size"].push_back(m.batch_size);
  history["seconds"].push_back(m.seconds);
}

// A run's TensorBoard log (the tags: knob/train/metric_scalars.h), or none without a directory;
// then the trainer gets no step callback and does nothing extra.
class TensorBoardLog {
 public:
  explicit TensorBoardLog(const std::string& dir) {
    if (!dir.empty()) writer_ = std::make_unique<TensorBoardWriter>(dir);
  }
  StepCallback on_step() {
    if (!writer_) return {};
    return [w = writer_.get()](const StepMetrics& m) {
      for (const MetricScalar& s : step_scalars(m)) w->add_scalar(s.tag, s.value, s.step);
    };
  }
  void on_epoch(const EpochMetrics& m) {
    if (!writer_) return;
    for (const MetricScalar& s : epoch_scalars(m)) writer_->add_scalar(s.tag, s.value, s.step);
    writer_->flush();  // TensorBoard shows each epoch as it ends
  }

 private:
  std::unique_ptr<TensorBoardWriter> writer_;
};

// DIR/trial-<number>: a trial's event files under `knob tune --tensorboard DIR` ("" for "").
std::string trial_log_dir(const std::string& dir, int64_t number) {
  if (dir.empty()) return dir;
  return (std::filesystem::path(dir) / ("trial-" + std::to_string(number))).string();
}

}  // namespace

void check_tensorboard_dir(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  KNOB_CHECK(!ec && std::filesystem::is_directory(dir), "--tensorboard", dir,
             "must be a directory knob can create" + (ec ? " (" + ec.message() + ")" : ""));
}

std::function<double(Trial&)> make_trainer_objective(const TrainConfig& base,
                                                     const std::vector<SearchParam>& space,
                                                     const std::string& tensorboard) {
  check_tensorboard_dir(tensorboard);
  return [base, space, tensorboard](Trial& trial) {
    TrainConfig config = base;
    for (const auto& [name, value] : suggest_params(trial, space))
      set_config_value(config, name, value);
    config.output.progress = false;
    config.output.metrics.clear();
    Json history = empty_history();
    TensorBoardLog log(trial_log_dir(tensorboard, trial.number()));
    TrainResult result;
    try {
      auto on_epoch = [&](const EpochMetrics& m) {
        record_epoch(history, m);
        log.on_epoch(m);
        trial.report(m.val_accuracy, m.epoch);
        if (trial.should_prune()) {
          throw TrialPruned("pruned after epoch " + std::to_string(m.epoch) + " (val_accuracy " +
                            dumps(Json(m.val_accuracy)) + ")");
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
    if (result.stop_reason == "diverged")
      throw TrainingDiverged("training diverged: " + result.divergence);
    return result.final_val_accuracy;
  };
}

namespace {

struct TrainFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::string metrics;
  std::string tensorboard;
  std::string checkpoint;
  bool resume = false;
  bool quiet = false;
  bool protocol = false;
};

// One protocol line on stdout, flushed at once: the parent acts on it (command_objective.h).
void protocol_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// knob train --protocol: a trial of `knob tune --isolate`. Stores what the in-process trainer
// objective stores — the history after every epoch (so a pruned trial keeps it), the stop
// reason and test accuracy — then the value; a diverged run exits 1 with the reason. With
// `tensorboard`, the event files go to tensorboard/trial-$KNOB_TRIAL_NUMBER when the tuner
// set that variable (as in-process trials do), else to tensorboard.
void run_train_protocol(const TrainConfig& config, const std::string& tensorboard) {
  // Nobody reads a trial whose parent has died: go with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  Json history = empty_history();
  const char* number = std::getenv("KNOB_TRIAL_NUMBER");
  TensorBoardLog log(number ? trial_log_dir(tensorboard, std::atoll(number)) : tensorboard);
  auto on_epoch = [&](const EpochMetrics& m) {
    record_epoch(history, m);
    log.on_epoch(m);
    protocol_line("knob:attr history " + dumps(history));
    protocol_line("knob:report " + std::to_string(m.epoch) + " " + dumps(Json(m.val_accuracy)));
  };
  TrainResult result = train_with_plugin(config, on_epoch, log.on_step());
  protocol_line("knob:attr history " + dumps(history));
  protocol_line("knob:attr stop_reason " + dumps(Json(result.stop_reason)));
  if (result.test_accuracy)
    protocol_line("knob:attr test_accuracy " + dumps(Json(*result.test_accuracy)));
  if (result.stop_reason == "diverged")
    throw TrainingDiverged("training diverged: " + result.divergence);
  protocol_line("knob:value " + dumps(Json(result.final_val_accuracy)));
}

void run_train(const TrainFlags& flags) {
  TrainConfig config = load_train_config(flags.config);
  for (const auto& o : flags.overrides) apply_override(config, o);
  if (!flags.metrics.empty()) config.output.metrics = flags.metrics;
  if (!flags.checkpoint.empty()) config.checkpoint.path = flags.checkpoint;
  if (flags.resume) config.checkpoint.resume = true;
  if (flags.quiet) config.output.progress = false;
  validate(config);  // before the plugin loads: bad input answers at once
  if (flags.protocol) {
    run_train_protocol(config, flags.tensorboard);
    return;
  }
  TensorBoardLog log(flags.tensorboard);
  std::cerr << "[knob] training " << config.model.kind << " with " << config.optimizer.kind
            << " lr "
            << (config.lr_find.use ? std::string("from the range test")
                                   : detail::format_value(config.optimizer.lr))
            << ", batch " << config.batch.size << ", " << config.train.epochs << " epochs\n";
  auto on_epoch = [&](const EpochMetrics& m) {
    log.on_epoch(m);
    std::printf(
        "epoch %3lld  train_loss %.4f  val_loss %.4f  val_accuracy %.4f  lr %.3g  batch %lld  "
        "%.1fs  %.0f samples/s\n",
        static_cast<long long>(m.epoch + 1), m.train_loss, m.val_loss, m.val_accuracy, m.lr,
        static_cast<long long>(m.batch_size), m.seconds, m.samples_per_second);
    std::fflush(stdout);
  };
  TrainResult result = train_with_plugin(config, on_epoch, log.on_step());
  if (result.lr_find) {
    std::printf("lr-find: %s suggestion %.3g, after %zu steps of the range test\n",
                result.lr_find->chosen.c_str(), result.lr_find->lr, result.lr_find->lrs.size());
  }
  if (result.resumed_epochs > 0) {
    std::printf("resumed from %s after epoch %lld\n", config.checkpoint.path.c_str(),
                static_cast<long long>(result.resumed_epochs));
  }
  std::printf("stopped: %s%s%s\n", result.stop_reason.c_str(),
              result.divergence.empty() ? "" : " — ", result.divergence.c_str());
  if (result.best_epoch >= 0) {
    std::printf("best val_accuracy %.4f at epoch %lld; final val_accuracy %.4f\n",
                result.best_val_accuracy, static_cast<long long>(result.best_epoch + 1),
                result.final_val_accuracy);
  }
  if (result.test_accuracy) std::printf("test_accuracy %.4f\n", *result.test_accuracy);
  if (result.stop_reason == "diverged")
    throw TrainingDiverged("training diverged: " + result.divergence);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* train = app.add_subcommand("train", "Train a model from a TOML config");
  train->add_option("config", flags->config, "TOML config ([data] [model] [optimizer] ...)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--set", flags->overrides, "Override a config key: table.key=value (repeat)");
  train->add_option("--metrics", flags->metrics, "Per-epoch metrics file (.csv or .jsonl)");
  train->add_option("--tensorboard", flags->tensorboard,
                    "Also write TensorBoard event files in this directory, on one step axis "
                    "(optimizer steps): per step train/loss, train/accuracy (the batch's), lr, "
                    "batch_size; per epoch, at the step it ended, epoch/train_loss, val/loss, "
                    "val/accuracy");
  train->add_option("--checkpoint", flags->checkpoint,
                    "Save the training state to this file after every epoch (checkpoint.path)");
  train->add_flag("--resume", flags->resume,
                  "Continue from the checkpoint when it exists (checkpoint.resume)");
  train->add_flag("--quiet", flags->quiet, "No progress bar");
  train->add_flag("--protocol", flags->protocol,
                  "Print knob's trial protocol instead of the epoch table (knob:report EPOCH "
                  "VAL_ACCURACY per epoch, knob:attr ..., knob:value FINAL_VAL_ACCURACY), as "
                  "`knob tune --isolate` reads it; exits when its parent does");
  train->callback([flags] { run_train(*flags); });
}

}  // namespace knob::cli
