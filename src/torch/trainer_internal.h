// Internal to the train module (not installed): what the Trainer's entry points share —
// fit() in trainer.cc, find_lr() in lr_finder.cc, find_batch_size() in batch_finder.cc.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <mutex>
#include <string>

#include "knob/core/error.h"
#include "knob/torch/dataset.h"
#include "knob/torch/trainer.h"

namespace knob {

// What every step of a run uses besides the model: the data, the loss, the device.
struct StepContext {
  std::shared_ptr<const DataSplits> data;
  std::string loss = "cross_entropy";  // train.loss
  torch::Device device = torch::kCPU;  // train.device
};

struct Trainer::State {
  StepContext step;
  ModelFactory model_factory;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start);

// Batch size of an epoch: grows by grow_factor at each milestone in grow_at, up to max_size.
int64_t batch_size_at(const BatchConfig& b, int64_t epoch, int64_t n_train);

// The config's model (built-in or TorchScript), or the factory's module, for the data's
// inputs and outputs, on the context's device.
torch::nn::Sequential build_model(const ModelConfig& config, const ModelFactory& factory,
                                  const StepContext& context);

// train.loss of `output` against `target` (mean, or with `sum` the sum over every element).
// Throws Error naming train.loss when the model's output does not fit the targets.
torch::Tensor loss_of(const std::string& loss, const torch::Tensor& output,
                      const torch::Tensor& target, bool sum = false);

// The mean loss of the training examples at `index`; with `right`, also which answers of the
// forward pass are right (a bool tensor, one per class label or per multi-label output; no
// sync; undefined for regression).
torch::Tensor batch_loss(torch::nn::Sequential& model, const StepContext& context,
                         const torch::Tensor& index, torch::Tensor* right = nullptr);

// Runs `body`, turning libtorch's errors (whose messages carry a C++ backtrace) into knob
// errors that keep the sentence and drop the frames.
template <typename Body>
auto without_backtrace(Body body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    throw Error(std::string("libtorch: ") + e.what_without_backtrace());
  }
}

// Puts libtorch's global random generator back as it was when it goes out of scope, so that a
// finder run before fit() leaves fit() starting exactly as without it.
class KeepGlobalRng {
 public:
  KeepGlobalRng() : generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    state_ = generator_.get_state();
  }
  ~KeepGlobalRng() {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_state(state_);
  }
  KeepGlobalRng(const KeepGlobalRng&) = delete;
  KeepGlobalRng& operator=(const KeepGlobalRng&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor state_;
};

}  // namespace knob
