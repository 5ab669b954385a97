#include "torch/mlp_step.h"

namespace knob {

namespace {

constexpr int64_t kBatchDim[] = {0};

// What autograd's mm backward formulas test to pick their operand order.
bool column_major(const torch::Tensor& t) { return t.stride(0) == 1 && t.stride(1) == t.size(0); }

// Makes `parameter`'s gradient a contiguous tensor of its shape (its values are overwritten).
void ensure_gradient(const torch::Tensor& parameter) {
  const torch::Tensor& grad = parameter.grad();
  if (grad.defined() && grad.is_contiguous() && grad.sizes() == parameter.sizes() &&
      grad.scalar_type() == parameter.scalar_type()) {
    return;
  }
  parameter.mutable_grad() = torch::empty_like(parameter, torch::MemoryFormat::Contiguous);
}

}  // namespace

std::unique_ptr<MlpStep> MlpStep::of(torch::nn::Sequential& model) {
  const size_t n = model->size();
  auto flatten =
      n >= 2 ? std::dynamic_pointer_cast<torch::nn::FlattenImpl>(model->ptr(0)) : nullptr;
  if (!flatten || flatten->options.start_dim() != 1 || flatten->options.end_dim() != -1) {
    return nullptr;
  }
  std::unique_ptr<MlpStep> step(new MlpStep);
  size_t i = 1;
  while (i < n) {
    auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(model->ptr(i));
    if (!linear || !linear->bias.defined()) return nullptr;
    for (const torch::Tensor& t : {linear->weight, linear->bias}) {
      if (t.scalar_type() != torch::kFloat32 || !t.device().is_cpu() || !t.is_contiguous()) {
        return nullptr;
      }
    }
    Layer layer;
    layer.linear = torch::nn::Linear(linear);
    ++i;
    if (i == n) {  // the output layer
      step->layers_.push_back(std::move(layer));
      return step;
    }
    if (!std::dynamic_pointer_cast<torch::nn::ReLUImpl>(model->ptr(i))) return nullptr;
    ++i;
    if (i < n) {
      if (auto dropout = std::dynamic_pointer_cast<torch::nn::DropoutImpl>(model->ptr(i))) {
        if (dropout->options.p() >= 1) return nullptr;  // libtorch multiplies by zero instead
        layer.dropout = torch::nn::Dropout(dropout);
        ++i;
      }
    }
    step->layers_.push_back(std::move(layer));
  }
  return nullptr;  // ends with a ReLU or Dropout: not a classifier of this shape
}

void MlpStep::resize(int64_t batch) {
  if (batch == batch_) return;
  batch_ = batch;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  for (Layer& layer : layers_) {
    const int64_t width = layer.linear->weight.size(0);
    for (torch::Tensor* t :
         {&layer.relu, &layer.mask, &layer.output, &layer.grad_output, &layer.grad_pre}) {
      *t = torch::empty({batch, width}, options);
    }
  }
  const int64_t classes = layers_.back().linear->weight.size(0);
  for (torch::Tensor* t : {&logits_, &log_probs_, &grad_log_probs_, &grad_logits_}) {
    *t = torch::empty({batch, classes}, options);
  }
  loss_ = torch::empty({}, options);
  total_weight_ = torch::empty({}, options);
  one_ = torch::ones({}, options);  // autograd's starting gradient
}

torch::Tensor MlpStep::loss_and_gradients(const torch::Tensor& inputs,
                                          const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  at::AutoDispatchBelowADInplaceOrView below_autograd;  // plain kernels: no graph, no views kept
  const int64_t batch = inputs.size(0);
  resize(batch);
  const torch::Tensor x = inputs.flatten(1);
  const int64_t last = static_cast<int64_t>(layers_.size()) - 1;
  // What each layer read: the input, or the previous layer's output (after dropout, if any).
  std::vector<const torch::Tensor*> layer_input(layers_.size());
  layer_input[0] = &x;

  // Forward, as Linear (addmm with the transposed weight), ReLU, Dropout (a Bernoulli mask
  // scaled by 1 / (1 - p), multiplied in) and cross_entropy (log_softmax, then nll_loss) run it.
  for (int64_t l = 0; l < last; ++l) {
    Layer& layer = layers_[l];
    at::addmm_out(layer.relu, layer.linear->bias, *layer_input[l], layer.linear->weight.t());
    at::relu_(layer.relu);
    const torch::Tensor* out = &layer.relu;
    if (layer.dropout && layer.dropout->is_training() && layer.dropout->options.p() != 0) {
      const double keep = 1 - layer.dropout->options.p();
      layer.mask.bernoulli_(keep);
      layer.mask.div_(keep);
      at::mul_out(layer.output, layer.relu, layer.mask);
      out = &layer.output;
    }
    layer_input[l + 1] = out;
  }
  Layer& output_layer = layers_[last];
  at::addmm_out(logits_, output_layer.linear->bias, *layer_input[last],
                output_layer.linear->weight.t());
  at::_log_softmax_out(log_probs_, logits_, 1, false);
  at::nll_loss_forward_out(loss_, total_weight_, log_probs_, labels, {}, at::Reduction::Mean, -100);

  // Backward, by autograd's formulas for each of those operations.
  grad_log_probs_.zero_();
  at::nll_loss_backward_out(grad_log_probs_, one_, log_probs_, labels, {}, at::Reduction::Mean,
                            -100, total_weight_);
  at::_log_softmax_backward_data_out(grad_logits_, grad_log_probs_, log_probs_, 1, torch::kFloat32);
  const torch::Tensor* grad = &grad_logits_;  // at the current layer's pre-activation
  for (int64_t l = last; l >= 0; --l) {
    Layer& layer = layers_[l];
    const torch::Tensor& weight = layer.linear->weight;
    const torch::Tensor& bias = layer.linear->bias;
    ensure_gradient(weight);
    ensure_gradient(bias);
    // addmm's mat2 (weight.t(), column-major): grad.t().mm(input).t(), transposed back.
    at::mm_out(weight.mutable_grad(), grad->t(), *layer_input[l]);
    // addmm's self, broadcast from [width]: summed over the batch (at::sum_to).
    at::sum_out(bias.mutable_grad(), *grad, at::IntArrayRef(kBatchDim));
    if (l == 0) break;  // the inputs need no gradient
    Layer& below = layers_[l - 1];
    // addmm's mat1: grad.mm(weight), or for a column-major input (weight.t().mm(grad.t())).t().
    if (column_major(*layer_input[l])) {
      below.grad_output.copy_(at::mm(weight.t(), grad->t()).t());
    } else {
      at::mm_out(below.grad_output, *grad, weight);
    }
    if (layer_input[l] == &below.output) below.grad_output.mul_(below.mask);  // dropout
    at::threshold_backward_out(below.grad_pre, below.grad_output, below.relu, 0);
    grad = &below.grad_pre;
  }
  return loss_;
}

}  // namespace knob
