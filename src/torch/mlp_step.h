// The built-in MLP's training step without autograd: forward and backward of
// Flatten -> (Linear -> ReLU [-> Dropout])* -> Linear under cross entropy, written as the
// libtorch kernels autograd would run for it (addmm, relu, bernoulli dropout, log_softmax,
// nll_loss and their backward formulas, in the same order, with the same operand layouts), so
// the loss and the gradients are bitwise those of model->forward + loss.backward(). It skips
// building the graph, and reuses its activation and gradient buffers from step to step.
//
// Example:
//   std::unique_ptr<MlpStep> fast = MlpStep::of(model);  // null: not such an MLP
//   torch::Tensor loss = fast->loss_and_gradients(inputs, labels);  // fills each p.grad()
//   optimizer->step();
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace knob {

class MlpStep {
 public:
  // The step for `model` when it is such an MLP (float32 parameters on the CPU, biased Linear
  // layers, ReLU not in place), else null.
  static std::unique_ptr<MlpStep> of(torch::nn::Sequential& model);

  // The mean cross entropy of `inputs` ([batch, ...] float32, flattened to the first Linear's
  // width) against class `labels` ([batch] int64), as a 0-dim tensor; sets every parameter's
  // gradient to that of the loss (replacing what it held). Dropout follows each Dropout
  // module's training mode and draws from libtorch's global generator, as the module does.
  torch::Tensor loss_and_gradients(const torch::Tensor& inputs, const torch::Tensor& labels);

  // The logits of the last loss_and_gradients (valid until the next call).
  const torch::Tensor& logits() const { return logits_; }

 private:
  struct Layer {
    torch::nn::Linear linear{nullptr};
    torch::nn::Dropout dropout{nullptr};  // after the ReLU of a hidden layer, if any
    // Per batch: the pre-activation (then, in place, ReLU's output), the dropout mask and the
    // layer's output after dropout; the gradient at the layer's output and pre-activation.
    torch::Tensor relu, mask, output, grad_output, grad_pre;
  };
  MlpStep() = default;
  void resize(int64_t batch);

  std::vector<Layer> layers_;  // the last has no ReLU
  int64_t batch_ = -1;
  torch::Tensor logits_, log_probs_, loss_, total_weight_, grad_log_probs_, grad_logits_, one_;
};

}  // namespace knob
