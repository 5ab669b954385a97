// knob train CONFIG.toml: flags -> TrainConfig -> run::train (knob/run/train_run.h), which
// prints the epoch table, or with --protocol is a trial of `knob tune --isolate`.
#include <memory>

#include "commands.h"
#include "knob/run/train_run.h"
#include "knob/train/config.h"

namespace knob::cli {
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

void run_train(const TrainFlags& flags) {
  TrainConfig config = load_train_config(flags.config);
  for (const auto& o : flags.overrides) apply_override(config, o);
  if (!flags.metrics.empty()) config.output.metrics = flags.metrics;
  if (!flags.checkpoint.empty()) config.checkpoint.path = flags.checkpoint;
  if (flags.resume) config.checkpoint.resume = true;
  if (flags.quiet) config.output.progress = false;
  validate(config, flags.config);  // before the plugin loads: bad input answers at once
  run::train(config,
             run::TrainRunOptions().tensorboard(flags.tensorboard).protocol(flags.protocol));
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
