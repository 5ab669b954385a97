// A training batch gathered into buffers kept from step to step: the examples at an index
// (index_select into the same tensors each step), their inputs as normalized float32 (what
// DataSplits::to_float computes) and their labels, on the run's device.
#pragma once

#include <torch/torch.h>

#include "knob/torch/dataset.h"

namespace knob {

class BatchGather {
 public:
  // Gathers the training examples of `data` at `index`; inputs() and labels() hold them until
  // the next call.
  void gather(const DataSplits& data, const torch::Tensor& index, torch::Device device);
  const torch::Tensor& inputs() const { return inputs_; }
  const torch::Tensor& labels() const { return labels_; }

 private:
  torch::Tensor stored_inputs_, stored_labels_;  // as stored: uint8 images, say
  torch::Tensor floats_;                         // normalized float32, on the CPU
  torch::Tensor inputs_, labels_;                // on the device
};

}  // namespace knob
