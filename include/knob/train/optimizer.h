// Optimizers from an OptimizerConfig, on libtorch's implementations: SGD (momentum,
// Nesterov), Adam, AdamW, RMSprop, Adagrad, with weight decay (L2; decoupled for AdamW).
// L1 is a loss penalty, added by the trainer.
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
