#include "knob/run/train_run.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "knob/core/error.h"
#include "knob/run/trainer_objective.h"
#include "knob/train/task.h"
#include "knob/train/trainer_plugin.h"
#include "tensorboard_log.h"

namespace knob::run {
namespace {

// printf into `out`, flushed: the table shows each epoch as it ends.
[[gnu::format(printf, 2, 3)]] void print(std::ostream& out, const char* format, ...) {
  va_list args, again;
  va_start(args, format);
  va_copy(again, args);
  std::string text(std::max(0, std::vsnprintf(nullptr, 0, format, args)), '\0');
  std::vsnprintf(text.data(), text.size() + 1, format, again);
  va_end(again);
  va_end(args);
  out << text << std::flush;
}

}  // namespace

void train(const TrainConfig& config, const TrainRunOptions& options) {
  if (options.protocol()) {
    run_train_protocol(config, options.tensorboard());
    return;
  }
  std::ostream& out = *options.out();
  detail::TensorBoardLog log(options.tensorboard());
  *options.log() << "[knob] training " << config.model.kind << " with " << config.optimizer.kind
                 << " lr "
                 << (config.lr_find.use ? std::string("from the range test")
                                        : knob::detail::format_value(config.optimizer.lr))
                 << ", batch " << config.batch.size << ", " << config.train.epochs << " epochs\n";
  // With data.validation = 0 nothing is measured on a validation set: say so, not 0.0000.
  const bool validated = config.data.validation > 0;
  const bool regression = task_of(config.train.loss) == Task::kRegression;
  const std::string objective = objective_of(config);
  auto on_epoch = [&](const EpochMetrics& m) {
    log.on_epoch(m);
    char val[96] = "val_loss n/a     val_accuracy n/a   ";
    if (!validated) {
      if (regression) std::snprintf(val, sizeof val, "val_loss n/a  val_rmse n/a  val_r2 n/a");
    } else if (regression) {
      std::snprintf(val, sizeof val, "val_loss %.4g  val_rmse %.4g  val_r2 %.4f", m.val_loss,
                    m.val_rmse, m.val_r2);
    } else {
      std::snprintf(val, sizeof val, "val_loss %.4f  val_accuracy %.4f", m.val_loss,
                    m.val_accuracy);
    }
    print(out, "epoch %3lld  train_loss %.4f  %s  lr %.3g  batch %lld  %.1fs  %.0f samples/s\n",
          static_cast<long long>(m.epoch + 1), m.train_loss, val, m.lr,
          static_cast<long long>(m.batch_size), m.seconds, m.samples_per_second);
  };
  TrainResult result = train_with_plugin(config, on_epoch, log.on_step());
  if (result.lr_find) {
    print(out, "lr-find: %s suggestion %.3g, after %zu steps of the range test\n",
          result.lr_find->chosen.c_str(), result.lr_find->lr, result.lr_find->lrs.size());
  }
  if (config.lr_find.use && config.lr_find.factor != 1) {
    print(out, "trained with lr %.3g (lr_find.factor %g x the suggestion)\n", result.lr,
          config.lr_find.factor);
  }
  if (result.resumed_epochs > 0) {
    print(out, "resumed from %s after epoch %lld\n", config.checkpoint.path.c_str(),
          static_cast<long long>(result.resumed_epochs));
  }
  print(out, "stopped: %s%s%s\n", result.stop_reason.c_str(),
        result.divergence.empty() ? "" : " — ", result.divergence.c_str());
  if (!validated) {
    print(out, "%s n/a (data.validation = 0: no validation set)\n", objective.c_str());
  } else if (result.best_epoch >= 0) {
    print(out, "best %s %.4f at epoch %lld; final %s %.4f\n", objective.c_str(),
          result.best_objective, static_cast<long long>(result.best_epoch + 1), objective.c_str(),
          epoch_metric(result.final_validation, objective));
  }
  if (result.test_accuracy) print(out, "test_accuracy %.4f\n", *result.test_accuracy);
  if (regression && result.test_loss) print(out, "test_loss %.4g\n", *result.test_loss);
  if (!result.model_path.empty()) print(out, "model saved to %s\n", result.model_path.c_str());
  if (result.stop_reason == "diverged")
    throw TrainingDiverged("training diverged: " + result.divergence);
}

}  // namespace knob::run
