// The entry point of libknob_trainer.so (see knob/train/trainer_plugin.h).
#include "knob/train/trainer_plugin.h"

#include "knob/torch/trainer.h"

namespace {

knob::TrainResult fit(const knob::TrainConfig& config, const knob::EpochCallback& on_epoch,
                      const knob::StepCallback& on_step) {
  return knob::Trainer(config).fit(on_epoch, on_step);
}

knob::LrFindResult find_lr(const knob::TrainConfig& config) {
  return knob::Trainer(config).find_lr();
}

knob::BatchFindResult find_batch_size(const knob::TrainConfig& config) {
  return knob::Trainer(config).find_batch_size();
}

int64_t cuda_devices() {
  return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
}

const knob::TrainerPlugin kPlugin = {knob::kTrainerPluginAbi, KNOB_VERSION, &fit, &find_lr,
                                     &find_batch_size,        &cuda_devices};

}  // namespace

extern "C" __attribute__((visibility("default"))) const knob::TrainerPlugin* knob_trainer_plugin() {
  return &kPlugin;
}
