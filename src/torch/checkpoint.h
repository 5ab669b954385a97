// Checkpoints of a training run (internal to the torch module): one file holding the model's
// parameters and buffers, the optimizer's state, the epochs done (their metrics), the step
// count, the global CPU random generator (dropout) and the best weights kept for
// train.restore_best. The schedules, early stopping and plateau state are not stored: they are
// pure functions of the step or of the metrics, and a resumed run replays the metrics.
// Together with the per-epoch data order (seeded by train.seed and the epoch) that makes a
// resumed run repeat an uninterrupted one number for number, at one thread.
//
// Files are written to a temporary name and renamed: a crash mid-save leaves the previous
// checkpoint intact.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "knob/train/config.h"
#include "knob/train/train_result.h"

namespace knob {

struct CheckpointState {
  std::vector<EpochMetrics> history;  // every epoch done
  int64_t step = 0;                   // optimizer steps done
  double first_loss = 0;              // the divergence reference
  std::vector<torch::Tensor> best_weights;
};

// Writes `path` by `write(temporary)` and a rename into place, so a crash mid-write leaves the
// previous file whole. A libtorch error or a failed rename is an InvalidArgument naming `key`
// (the config key of the path) and saying it cannot be written.
void write_then_rename(const std::string& path, const std::string& key,
                       const std::function<void(const std::string& temporary)>& write);

void save_checkpoint(const std::string& path, const TrainConfig& config, torch::nn::Module& model,
                     const torch::optim::Optimizer& optimizer, const CheckpointState& state);

// Loads `path` into `model` and `optimizer` (built from `config` as the saved run built
// them), restores the global CPU generator and returns the rest. A checkpoint of different
// data, model or optimizer kind, or a file that is not a knob checkpoint, is an
// InvalidArgument naming checkpoint.path and the difference; other changed settings
// (epochs, lr, ...) are allowed and listed on stderr, since the numbers then differ from an
// uninterrupted run.
CheckpointState load_checkpoint(const std::string& path, const TrainConfig& config,
                                torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                                torch::Device device = torch::kCPU);

}  // namespace knob
