// Optimizers from an OptimizerConfig, on libtorch's implementations: SGD (momentum,
// Nesterov), Adam, AdamW, RMSprop, Adagrad, with weight decay (L2; decoupled for AdamW).
// L1 is a loss penalty, added by the trainer. SGD, Adam, AdamW and RMSprop update each
// parameter in one pass over its storage, with bitwise libtorch's numbers and state (so
// checkpoints are interchangeable); Adagrad is libtorch's own.
//
// Example:
//   knob::OptimizerConfig config;
//   config.kind = "sgd", config.lr = 0.05, config.momentum = 0.9, config.nesterov = true;
//   auto optimizer = knob::make_optimizer(config, model->parameters());
//   knob::set_learning_rate(*optimizer, 0.01);  // what a schedule does each step
#pragma once

#include <torch/torch.h>

#include <memory>

#include "knob/train/config.h"

namespace knob {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& config,
                                                        std::vector<torch::Tensor> parameters);
// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace knob
