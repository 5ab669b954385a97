// libtorch's Adam, AdamW, SGD and RMSprop with a step that updates each parameter in one pass
// over its storage (torch/fused_update_kernels.h) instead of 5-8 tensor operations, with
// bitwise the same numbers. They are subclasses: options, per-parameter state and
// serialization are libtorch's, so a checkpoint saved by one loads into the other, and they
// fall back to libtorch's own step for what the one-pass updates do not cover (a closure,
// amsgrad, centered RMSprop, tensors that are not contiguous float32 on the CPU, or a CPU
// whose libtorch kernels round otherwise).
#pragma once

#include <torch/torch.h>

#include <string>
#include <unordered_map>

namespace knob {

// The key libtorch's optimizers file a parameter's state under, computed once per parameter.
class StateKeys {
 public:
  const std::string& of(const torch::Tensor& parameter);

 private:
  std::unordered_map<const void*, std::string> keys_;
};

class FusedAdam final : public torch::optim::Adam {
 public:
  using Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  StateKeys keys_;
};

class FusedAdamW final : public torch::optim::AdamW {
 public:
  using AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  StateKeys keys_;
};

class FusedSGD final : public torch::optim::SGD {
 public:
  using SGD::SGD;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  StateKeys keys_;
};

class FusedRMSprop final : public torch::optim::RMSprop {
 public:
  using RMSprop::RMSprop;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  StateKeys keys_;
};

}  // namespace knob
