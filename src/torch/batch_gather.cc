#include "torch/batch_gather.h"

namespace knob {

void BatchGather::gather(const DataSplits& data, const torch::Tensor& index, torch::Device device) {
  const Dataset& train = data.train;
  if (!stored_inputs_.defined()) {
    stored_inputs_ = torch::empty({0}, train.inputs.options());
    stored_labels_ = torch::empty({0}, train.labels.options());
    floats_ = torch::empty({0}, train.inputs.options().dtype(torch::kFloat32));
  }
  if (stored_labels_.size(0) != index.size(0)) {  // a new batch size: the out= calls resize
    stored_inputs_.resize_(0);
    stored_labels_.resize_(0);
  }
  at::index_select_out(stored_inputs_, train.inputs, 0, index);
  at::index_select_out(stored_labels_, train.labels, 0, index);
  // DataSplits::to_float, into the kept buffer: (x * scale - mean) / stddev as one multiply
  // and one subtract.
  const double scale = stored_inputs_.scalar_type() == torch::kUInt8 ? 1.0 / 255.0 : 1.0;
  floats_.resize_(stored_inputs_.sizes());
  floats_.copy_(stored_inputs_);
  floats_.mul_(scale / data.stddev).sub_(data.mean / data.stddev);
  if (device.is_cpu()) {
    inputs_ = floats_;
    labels_ = stored_labels_;
  } else {
    inputs_ = floats_.to(device);
    labels_ = stored_labels_.to(device);
  }
}

}  // namespace knob
