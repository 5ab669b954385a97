#include "knob/torch/optimizer.h"

#include "torch/fused_optimizers.h"

namespace knob {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerConfig& c,
                                                        std::vector<torch::Tensor> parameters) {
  namespace optim = torch::optim;
  // libtorch's optimizers with a one-pass step per parameter (bitwise the same numbers).
  if (c.kind == "sgd") {
    return std::make_unique<FusedSGD>(parameters, optim::SGDOptions(c.lr)
                                                      .momentum(c.momentum)
                                                      .nesterov(c.nesterov)
                                                      .weight_decay(c.weight_decay));
  }
  if (c.kind == "adamw") {
    return std::make_unique<FusedAdamW>(parameters, optim::AdamWOptions(c.lr)
                                                        .betas({c.beta1, c.beta2})
                                                        .eps(c.eps)
                                                        .weight_decay(c.weight_decay));
  }
  if (c.kind == "rmsprop") {
    return std::make_unique<FusedRMSprop>(parameters, optim::RMSpropOptions(c.lr)
                                                          .alpha(c.alpha)
                                                          .eps(c.eps)
                                                          .momentum(c.momentum)
                                                          .weight_decay(c.weight_decay));
  }
  if (c.kind == "adagrad") {
    return std::make_unique<optim::Adagrad>(
        parameters, optim::AdagradOptions(c.lr).eps(c.eps).weight_decay(c.weight_decay));
  }
  return std::make_unique<FusedAdam>(
      parameters,
      optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace knob
