// The trainer as a plugin: libknob_trainer.so holds everything that links libtorch, and
// programs that only sometimes train (the knob CLI) load it on first use, so `knob study list`
// does not pay libtorch's start-up (~300 shared libraries, over a second here).
//
// Torch-free: the types crossing the boundary (TrainConfig, EpochMetrics, StepMetrics,
// TrainResult) are.
// Custom models (ModelFactory) need the library itself: link knob::train and use Trainer.
//
// Example:
//   knob::TrainResult r = knob::train_with_plugin(config, [](const knob::EpochMetrics& m) {});
#pragma once

#include "knob/train/config.h"
#include "knob/train/train_result.h"

namespace knob {

// What libknob_trainer.so exports, through `extern "C" const TrainerPlugin* knob_trainer_plugin()`.
struct TrainerPlugin {
  int abi_version;
  const char* knob_version;
  TrainResult (*fit)(const TrainConfig& config, const EpochCallback& on_epoch,
                     const StepCallback& on_step);
  LrFindResult (*find_lr)(const TrainConfig& config);
  BatchFindResult (*find_batch_size)(const TrainConfig& config);
  int64_t (*cuda_devices)();  // the CUDA devices this libtorch sees (0 without CUDA)
};

// 6: regression metrics, final_validation, test_loss, model_path; cuda_devices.
// 7: TrainResult::lr, LrFindConfig::factor and known.
inline constexpr int kTrainerPluginAbi = 7;

// Loads the plugin on first call (from $KNOB_TRAINER_PLUGIN, beside the executable, in ../lib,
// or where it was installed) and trains. Throws Error when it cannot be found or loaded,
// saying where it looked; training errors come through unchanged.
TrainResult train_with_plugin(const TrainConfig& config, const EpochCallback& on_epoch = {},
                              const StepCallback& on_step = {});
// The learning-rate range test (Trainer::find_lr) through the plugin.
LrFindResult find_lr_with_plugin(const TrainConfig& config);
// The batch-size finder (Trainer::find_batch_size) through the plugin.
BatchFindResult find_batch_size_with_plugin(const TrainConfig& config);
// The CUDA devices the plugin's libtorch sees (0 for Debian's CPU-only build).
int64_t cuda_devices_with_plugin();

}  // namespace knob
