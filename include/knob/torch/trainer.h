// Trainer: trains a model from a TrainConfig on libtorch — data, model (built-in, TorchScript or
// your own module), loss (classification, multi-label, regression), device, optimizer,
// learning-rate schedule with warm-up, batch-size policy, early stopping, a wall-clock budget,
// divergence detection and checkpoints — and returns the per-epoch history.
//
// Divergence (a NaN/Inf loss, or a loss above train.divergence_factor x the first batch's
// loss) never crashes or hangs: the run stops and the result says where.
// An epoch callback sees each epoch's metrics; it may throw (a tuner's TrialPruned) to stop.
// A step callback sees every optimizer step's loss, learning rate, batch size and batch
// accuracy (StepMetrics); without one the loop does nothing extra.
// The model is the config's (MLP, CNN, or a TorchScript file: script_module.h) or any libtorch
// module a ModelFactory builds; output.model saves it trained.
// Not thread-safe per object; several Trainers may run in parallel threads (set
// train.threads = 1 each).
//
// Example:
//   knob::TrainConfig config = knob::load_train_config("examples/fashion_mnist_mlp.toml");
//   knob::TrainResult result = knob::Trainer(config).fit();
//   std::cout << result.final_val_accuracy << "\n";
//
// Example (a custom module: anything with `Tensor forward(Tensor)` returning logits):
//   struct NetImpl : torch::nn::Module { ... torch::Tensor forward(torch::Tensor x); };
//   TORCH_MODULE(Net);
//   knob::Trainer trainer(config, [](const std::vector<int64_t>& shape, int64_t classes) {
//     return torch::nn::AnyModule(Net(shape, classes));
//   });
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "knob/torch/dataset.h"
#include "knob/train/config.h"
#include "knob/train/train_result.h"

namespace knob {

// Builds the model for inputs of `example_shape` (one example, without the batch dimension:
// {28, 28} for Fashion-MNIST, {features} for CSV data) and `num_classes` outputs (logits; for
// regression and multi-label, the targets per example).
// Called once per fit(), after the run's seed is set, so initialization is reproducible.
using ModelFactory = std::function<torch::nn::AnyModule(const std::vector<int64_t>& example_shape,
                                                        int64_t num_classes)>;

class Trainer {
 public:
  // Validates the config (InvalidArgument naming the key) and loads the data the config's
  // [data] names, or takes `data` (your own tensors: make_data_splits in dataset.h). Without a
  // factory the model is the config's [model]. train.device = "cuda" on a libtorch without
  // CUDA is an InvalidArgument naming train.device.
  explicit Trainer(TrainConfig config, ModelFactory model = {},
                   std::shared_ptr<const DataSplits> data = {});
  ~Trainer();
  TrainResult fit(const EpochCallback& on_epoch = {}, const StepCallback& on_step = {});
  // The learning-rate range test with the config's [lr_find] settings, at batch.size, on a
  // model initialized as fit() initializes it; nothing of it carries over into fit(). The
  // same seed gives the same curve and suggestion. A loss that is NaN/Inf at the very first
  // step throws TrainingDiverged (the model or data, not the learning rate, produce it).
  LrFindResult find_lr();
  // The batch-size finder with the config's [batch_find] settings (knob/train/batch_find.h):
  // sizes from batch_find.start, doubled, then bisected, up to the cap; each size runs two
  // training steps of a model initialized as fit() initializes it, and fits when their peak
  // tensor memory stays within the budget; then a few timed steps give its throughput.
  // "Memory" is what libtorch's CPU allocator hands out on this thread during the step (model,
  // gradients, optimizer state, the batch, activations), counted exactly by a memory reporter
  // (c10::MemoryReportingInfoBase). Not counted: the data set already in memory, the BLAS
  // library's own work buffers, malloc's overhead and fragmentation, the process itself, and
  // allocations on other threads (exact at train.threads = 1, a lower bound above). So keep a
  // margin: the default budget is half of MemAvailable. Then the gradient noise scale B_simple
  // at batch_find.start and a big batch (at most the largest fitting size and 1/8 of the
  // training set), after batch_find.noise_warmup steps at batch.base, and the recommendation.
  // The same seed gives the same sizes, memory, noise scale and recommendation (throughput
  // varies). Nothing carries over into fit(). A budget too small for batch_find.start, or a
  // cap above the training-set size, throws InvalidArgument.
  BatchFindResult find_batch_size();

 private:
  struct State;
  TrainResult fit_impl(const EpochCallback& on_epoch, const StepCallback& on_step);
  LrFindResult find_lr_impl(const TrainConfig& config);
  BatchFindResult find_batch_impl(const TrainConfig& config);
  TrainConfig config_;
  std::unique_ptr<State> state_;
};

// Sets libtorch's intra-op threads and OpenBLAS's own thread count (libtorch does not bound the
// latter) — call before training when several trainers run side by side.
void set_compute_threads(int64_t threads);

}  // namespace knob
