#include "knob/train/trainer_plugin.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "knob/core/error.h"

namespace knob {
namespace {

std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("KNOB_TRAINER_PLUGIN")) paths.emplace_back(env);
  std::error_code error;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    paths.push_back((exe.parent_path() / "libknob_trainer.so").string());
    paths.push_back((exe.parent_path() / ".." / "lib" / "libknob_trainer.so").string());
  }
  paths.emplace_back(KNOB_TRAINER_INSTALL_PATH);
  return paths;
}

const TrainerPlugin& load_plugin() {
  static std::once_flag once;
  static const TrainerPlugin* plugin = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& path : candidate_paths()) {
      if (!std::filesystem::exists(path)) {
        tried += "\n  " + path + " (absent)";
        continue;
      }
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        tried += "\n  " + path + " (" + dlerror() + ")";
        continue;
      }
      using Entry = const TrainerPlugin* (*)();
      auto entry = reinterpret_cast<Entry>(dlsym(handle, "knob_trainer_plugin"));
      const TrainerPlugin* found = entry ? entry() : nullptr;
      if (!found || found->abi_version != kTrainerPluginAbi) {
        tried += "\n  " + path + " (not a knob trainer plugin of this version)";
        continue;
      }
      plugin = found;
      return;
    }
    failure = "the trainer plugin libknob_trainer.so could not be loaded; tried:" + tried +
              "\nIt is built with knob when libtorch-dev is installed (scripts/setup installs it).";
  });
  if (!plugin) throw Error(failure);
  return *plugin;
}

}  // namespace

TrainResult train_with_plugin(const TrainConfig& config, const EpochCallback& on_epoch,
                              const StepCallback& on_step) {
  return load_plugin().fit(config, on_epoch, on_step);
}

LrFindResult find_lr_with_plugin(const TrainConfig& config) {
  return load_plugin().find_lr(config);
}

BatchFindResult find_batch_size_with_plugin(const TrainConfig& config) {
  return load_plugin().find_batch_size(config);
}

int64_t cuda_devices_with_plugin() { return load_plugin().cuda_devices(); }

}  // namespace knob
