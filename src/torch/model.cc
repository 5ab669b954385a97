#include "knob/torch/model.h"

#include "knob/core/error.h"

namespace knob {

torch::nn::Sequential make_model(const ModelConfig& config,
                                 const std::vector<int64_t>& example_shape, int64_t num_classes) {
  namespace nn = torch::nn;
  nn::Sequential model;
  int64_t features = 1;
  for (int64_t d : example_shape) features *= d;
  if (config.kind == "cnn") {
    KNOB_CHECK(example_shape.size() == 2 || example_shape.size() == 3, "model.kind", config.kind,
               "needs image inputs (HxW or CxHxW); use \"mlp\" for tabular data");
    int64_t channels = example_shape.size() == 3 ? example_shape[0] : 1;
    int64_t height = example_shape[example_shape.size() - 2];
    int64_t width = example_shape.back();
    // Any input layout becomes [batch, channels, height, width].
    model->push_back(nn::Flatten());
    model->push_back(nn::Unflatten(nn::UnflattenOptions(1, {channels, height, width})));
    for (int64_t out : config.channels) {
      model->push_back(nn::Conv2d(nn::Conv2dOptions(channels, out, 3).padding(1)));
      model->push_back(nn::ReLU());
      model->push_back(nn::MaxPool2d(2));
      channels = out;
      height /= 2;
      width /= 2;
      KNOB_CHECK(height >= 1 && width >= 1, "model.channels",
                 static_cast<int64_t>(config.channels.size()),
                 "has more pooling stages than the image has size for");
    }
    model->push_back(nn::Flatten());
    if (config.dropout > 0) model->push_back(nn::Dropout(config.dropout));
    model->push_back(nn::Linear(channels * height * width, num_classes));
    return model;
  }
  model->push_back(nn::Flatten());
  for (int64_t width : config.hidden) {
    model->push_back(nn::Linear(features, width));
    model->push_back(nn::ReLU());
    if (config.dropout > 0) model->push_back(nn::Dropout(config.dropout));
    features = width;
  }
  model->push_back(nn::Linear(features, num_classes));
  return model;
}

}  // namespace knob
