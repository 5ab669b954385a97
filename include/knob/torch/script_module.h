// A TorchScript module — a PyTorch model saved by torch.jit.save after torch.jit.script or
// torch.jit.trace — as a torch::nn::Module the Trainer trains like its own models
// (model.kind = "torchscript"). The file's parameters and buffers are registered on this module
// as the same tensors, not copies: the optimizer updates the script's weights, checkpoints and
// early stopping's restore-best hold its BatchNorm statistics, and moving this module to a
// device moves the script. train()/eval() switch the script's mode too (dropout, batch norm).
//
// Its input is a batch as the data holds it ([batch, ...] floats); its forward must return one
// Tensor (logits, or predictions for regression). Every failure — a missing file, one that is
// not TorchScript, a forward that returns something else or fails on the data's inputs (with
// their shape and the model's own message) — is an InvalidArgument naming model.path.
//
// Example:
//   knob::ScriptModule net("net.pt", /*reinit=*/false);  // the file's weights
//   torch::Tensor logits = net->forward(torch::rand({8, 1, 28, 28}));
//   net->save_script("trained.pt");  // torch.jit.load("trained.pt") in Python
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>

namespace knob {

class ScriptModuleImpl : public torch::nn::Module {
 public:
  // Loads `path` on the CPU. With `reinit`, re-initialises the parameters from libtorch's
  // global generator (seed it first) as PyTorch initialises fresh layers: Kaiming-uniform
  // weights (a = sqrt(5), the bound 1/sqrt(fan_in)), biases uniform in ±1/sqrt(fan_in) of their
  // layer's weight, one-dimensional weights (normalisation layers) 1 and their biases 0, and
  // the buffers of batch norm reset (running mean 0, variance 1, batches tracked 0).
  ScriptModuleImpl(const std::string& path, bool reinit);

  torch::Tensor forward(torch::Tensor input);
  void train(bool on = true) override;

  // Saves the script with its current weights, in eval mode (what inference wants), to `path`
  // through a temporary file renamed into place.
  void save_script(const std::string& path);

 private:
  std::string path_;
  torch::jit::Module script_;
};
TORCH_MODULE(ScriptModule);

}  // namespace knob
