// Models the trainer builds from a ModelConfig: the seed MLP (flatten -> 128 ReLU -> dropout
// 0.2 -> classes; widths and depth from model.hidden) and a small CNN (3x3 conv + ReLU + 2x2
// max-pool per entry of model.channels, then dropout and a linear classifier). Any libtorch
// module with forward(Tensor) -> logits can be trained too (see trainer.h).
#pragma once

#include <torch/torch.h>

#include "knob/train/config.h"

namespace knob {

// `example_shape` is one input's shape without the batch dimension ({28, 28} for an image,
// {features} for tabular data). Throws InvalidArgument when the CNN needs images.
torch::nn::Sequential make_model(const ModelConfig& config,
                                 const std::vector<int64_t>& example_shape, int64_t num_classes);

}  // namespace knob
