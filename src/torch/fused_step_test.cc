// The fused training step against the plain one: the one-pass optimizers against libtorch's
// (bitwise, over several steps, for each optimizer and option that changes the formula), the
// built-in MLP's autograd-free step against model->forward + loss.backward() (loss, gradients
// and parameters bitwise), and a whole fit() of the built-in MLP against the same MLP trained
// through the generic path.
#include <gtest/gtest.h>

#include <sstream>

#include "knob/torch/model.h"
#include "knob/torch/optimizer.h"
#include "knob/torch/trainer.h"
#include "torch/fused_optimizers.h"
#include "torch/fused_update_kernels.h"
#include "torch/mlp_step.h"

namespace knob {
namespace {

// A Sequential inside a module with a plain forward (AnyModule cannot hold a Sequential): how
// a ModelFactory hands the trainer an MLP of its own.
struct WrappedMlpImpl : torch::nn::Module {
  explicit WrappedMlpImpl(torch::nn::Sequential mlp) : inner(register_module("inner", mlp)) {}
  torch::Tensor forward(torch::Tensor x) { return inner->forward(x); }
  torch::nn::Sequential inner;
};
TORCH_MODULE(WrappedMlp);

// Parameters shaped like the seed MLP's (the 10-element bias runs the kernels' scalar tail).
std::vector<torch::Tensor> seed_shaped_parameters() {
  torch::manual_seed(7);
  std::vector<torch::Tensor> out;
  for (auto shape : std::vector<std::vector<int64_t>>{{128, 784}, {128}, {10, 128}, {10}}) {
    out.push_back((torch::randn(shape) * 0.05).requires_grad_());
  }
  return out;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// Same bits (== would call -0 and +0 equal, and NaN unequal to itself).
::testing::AssertionResult bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) {
    return ::testing::AssertionFailure() << "shapes or types differ";
  }
  torch::Tensor x = a.contiguous(), y = b.contiguous();
  if (std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "max difference "
         << (x.to(torch::kFloat64) - y.to(torch::kFloat64)).abs().max().item<double>();
}

// Steps a fused and a plain optimizer over the same parameters and gradients, with the
// learning rate changing as a schedule would, and compares the parameters after each step.
void expect_same_steps(const OptimizerConfig& config,
                       const std::function<std::unique_ptr<torch::optim::Optimizer>(
                           std::vector<torch::Tensor>, const OptimizerConfig&)>& plain) {
  auto fused_parameters = seed_shaped_parameters();
  auto plain_parameters = clones(fused_parameters);
  auto fused = make_optimizer(config, fused_parameters);
  auto reference = plain(plain_parameters, config);
  torch::manual_seed(11);
  for (int step = 0; step < 6; ++step) {
    const double lr = config.lr * (1.0 - 0.1 * step);
    set_learning_rate(*fused, lr);
    set_learning_rate(*reference, lr);
    for (size_t i = 0; i < fused_parameters.size(); ++i) {
      torch::Tensor grad = torch::randn(fused_parameters[i].sizes());
      if (step == 2) grad.mul_(1e-20);  // tiny gradients: Adam's denominator near eps
      fused_parameters[i].mutable_grad() = grad.clone();
      plain_parameters[i].mutable_grad() = grad.clone();
    }
    fused->step();
    reference->step();
    for (size_t i = 0; i < fused_parameters.size(); ++i) {
      ASSERT_TRUE(bitwise_equal(fused_parameters[i], plain_parameters[i]))
          << config.kind << " step " << step << " parameter " << i;
    }
  }
}

TEST(FusedOptimizerTest, RunsTheOnePassKernelsOnThisMachine) {
  // Every figure in docs/benchmarks.md assumes it; a CPU without AVX2 falls back to libtorch.
  EXPECT_TRUE(fused_updates_supported());
}

TEST(FusedOptimizerTest, AdamAndAdamWMatchLibtorchBitwise) {
  for (double weight_decay : {0.0, 0.01}) {
    OptimizerConfig c;
    c.kind = "adam";
    c.lr = 0.01;
    c.weight_decay = weight_decay;
    expect_same_steps(c, [](std::vector<torch::Tensor> p, const OptimizerConfig& c) {
      return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(c.lr)
                                                         .betas({c.beta1, c.beta2})
                                                         .eps(c.eps)
                                                         .weight_decay(c.weight_decay));
    });
    c.kind = "adamw";
    c.beta1 = 0.8;
    c.beta2 = 0.99;
    c.eps = 1e-6;
    expect_same_steps(c, [](std::vector<torch::Tensor> p, const OptimizerConfig& c) {
      return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(c.lr)
                                                          .betas({c.beta1, c.beta2})
                                                          .eps(c.eps)
                                                          .weight_decay(c.weight_decay));
    });
  }
}

TEST(FusedOptimizerTest, SgdMatchesLibtorchBitwise) {
  struct Case {
    double momentum, weight_decay;
    bool nesterov;
  };
  for (Case k :
       {Case{0, 0, false}, Case{0, 1e-3, false}, Case{0.9, 0, false}, Case{0.9, 1e-3, true}}) {
    OptimizerConfig c;
    c.kind = "sgd";
    c.lr = 0.05;
    c.momentum = k.momentum;
    c.weight_decay = k.weight_decay;
    c.nesterov = k.nesterov;
    expect_same_steps(c, [](std::vector<torch::Tensor> p, const OptimizerConfig& c) {
      return std::make_unique<torch::optim::SGD>(p, torch::optim::SGDOptions(c.lr)
                                                        .momentum(c.momentum)
                                                        .nesterov(c.nesterov)
                                                        .weight_decay(c.weight_decay));
    });
  }
}

TEST(FusedOptimizerTest, RmspropMatchesLibtorchBitwise) {
  for (double momentum : {0.0, 0.9}) {
    OptimizerConfig c;
    c.kind = "rmsprop";
    c.lr = 0.01;
    c.momentum = momentum;
    c.weight_decay = momentum > 0 ? 1e-3 : 0.0;
    expect_same_steps(c, [](std::vector<torch::Tensor> p, const OptimizerConfig& c) {
      return std::make_unique<torch::optim::RMSprop>(p, torch::optim::RMSpropOptions(c.lr)
                                                            .alpha(c.alpha)
                                                            .eps(c.eps)
                                                            .momentum(c.momentum)
                                                            .weight_decay(c.weight_decay));
    });
  }
}

TEST(FusedOptimizerTest, StateLoadsIntoLibtorchsOptimizer) {
  auto fused_parameters = seed_shaped_parameters();
  OptimizerConfig c;
  auto fused = make_optimizer(c, fused_parameters);
  for (auto& p : fused_parameters) p.mutable_grad() = torch::randn(p.sizes());
  fused->step();
  std::stringstream bytes;
  {
    torch::serialize::OutputArchive archive;
    fused->save(archive);
    archive.save_to(bytes);
  }
  auto plain_parameters = clones(fused_parameters);
  torch::optim::Adam plain(plain_parameters, torch::optim::AdamOptions(c.lr));
  torch::serialize::InputArchive archive;
  archive.load_from(bytes);
  plain.load(archive);
  for (size_t i = 0; i < fused_parameters.size(); ++i) {
    torch::Tensor grad = torch::randn(fused_parameters[i].sizes());
    fused_parameters[i].mutable_grad() = grad.clone();
    plain_parameters[i].mutable_grad() = grad.clone();
  }
  fused->step();
  plain.step();
  for (size_t i = 0; i < fused_parameters.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(fused_parameters[i], plain_parameters[i])) << "parameter " << i;
  }
}

// Two copies of the built-in MLP with the same weights, stepped with the same data and the
// same dropout draws: one by MlpStep and the fused Adam, one by autograd and libtorch's Adam.
void expect_same_mlp_steps(const ModelConfig& config, int64_t batch) {
  torch::manual_seed(3);
  torch::nn::Sequential fast = make_model(config, {28, 28}, 10);
  torch::nn::Sequential plain = make_model(config, {28, 28}, 10);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < fast->parameters().size(); ++i) {
      plain->parameters()[i].copy_(fast->parameters()[i]);
    }
  }
  std::unique_ptr<MlpStep> step = MlpStep::of(fast);
  ASSERT_TRUE(step);
  OptimizerConfig adam;
  adam.lr = 0.01;
  auto fused = make_optimizer(adam, fast->parameters());
  torch::optim::Adam reference(plain->parameters(), torch::optim::AdamOptions(adam.lr));
  for (int s = 0; s < 4; ++s) {
    torch::manual_seed(100 + s);
    torch::Tensor inputs = torch::randn({batch, 28, 28});
    torch::Tensor labels = torch::randint(10, {batch}, torch::kInt64);
    torch::manual_seed(200 + s);  // the dropout draws
    torch::Tensor fast_loss = step->loss_and_gradients(inputs, labels).clone();
    torch::manual_seed(200 + s);
    reference.zero_grad();
    torch::Tensor plain_loss = torch::nn::functional::cross_entropy(plain->forward(inputs), labels);
    plain_loss.backward();
    ASSERT_TRUE(bitwise_equal(fast_loss, plain_loss.detach())) << "loss, step " << s;
    for (size_t i = 0; i < fast->parameters().size(); ++i) {
      ASSERT_TRUE(bitwise_equal(fast->parameters()[i].grad(), plain->parameters()[i].grad()))
          << "gradient " << i << ", step " << s << ", batch " << batch;
    }
    fused->step();
    reference.step();
    for (size_t i = 0; i < fast->parameters().size(); ++i) {
      ASSERT_TRUE(bitwise_equal(fast->parameters()[i], plain->parameters()[i]))
          << "parameter " << i << ", step " << s << ", batch " << batch;
    }
  }
}

TEST(MlpStepTest, SeedMlpMatchesAutogradBitwise) {
  ModelConfig seed;  // 784-128-10, dropout 0.2
  for (int64_t batch : {32, 17, 1}) expect_same_mlp_steps(seed, batch);
}

TEST(MlpStepTest, DeeperAndDropoutFreeMlpsMatchAutogradBitwise) {
  ModelConfig deep;
  deep.hidden = {64, 32};
  deep.dropout = 0.5;
  expect_same_mlp_steps(deep, 32);
  ModelConfig plain;
  plain.hidden = {48};
  plain.dropout = 0;
  expect_same_mlp_steps(plain, 8);
  ModelConfig linear;  // no hidden layer: logistic regression
  linear.hidden = {};
  expect_same_mlp_steps(linear, 16);
}

TEST(MlpStepTest, EvalModeSkipsDropoutAsTheModuleDoes) {
  ModelConfig seed;
  torch::manual_seed(3);
  torch::nn::Sequential model = make_model(seed, {28, 28}, 10);
  model->eval();
  std::unique_ptr<MlpStep> step = MlpStep::of(model);
  ASSERT_TRUE(step);
  torch::Tensor inputs = torch::randn({8, 28, 28});
  torch::Tensor labels = torch::randint(10, {8}, torch::kInt64);
  step->loss_and_gradients(inputs, labels);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(bitwise_equal(step->logits(), model->forward(inputs)));
}

TEST(MlpStepTest, OnlyTheBuiltInMlpShape) {
  ModelConfig cnn;
  cnn.kind = "cnn";
  torch::nn::Sequential conv = make_model(cnn, {28, 28}, 10);
  EXPECT_FALSE(MlpStep::of(conv));
  torch::nn::Sequential wrapped;  // a factory's module, as the trainer holds it
  wrapped->push_back(WrappedMlp(make_model(ModelConfig{}, {28, 28}, 10)));
  EXPECT_FALSE(MlpStep::of(wrapped));
  torch::nn::Sequential ends_in_relu(torch::nn::Flatten(), torch::nn::Linear(784, 10),
                                     torch::nn::ReLU());
  EXPECT_FALSE(MlpStep::of(ends_in_relu));
  torch::nn::Sequential no_bias(torch::nn::Flatten(),
                                torch::nn::Linear(torch::nn::LinearOptions(784, 10).bias(false)));
  EXPECT_FALSE(MlpStep::of(no_bias));
}

// fit() of the built-in MLP (MlpStep, reused batch buffers) against the same MLP from a
// ModelFactory (which the trainer runs through model->forward and autograd): same numbers.
TEST(MlpStepTest, FitMatchesTheGenericPathExactly) {
  TrainConfig c;
  c.data.limit = 3000;
  c.data.validation = 1000;
  c.train.epochs = 2;
  c.train.threads = 1;
  c.batch.size = 32;
  c.output.progress = false;
  c.output.test = false;
  for (const std::string kind : {"adam", "sgd"}) {
    c.optimizer.kind = kind;
    c.optimizer.lr = kind == "sgd" ? 0.05 : 0.001;
    c.optimizer.momentum = kind == "sgd" ? 0.9 : 0.0;
    std::vector<double> fast_steps, plain_steps;
    TrainResult fast =
        Trainer(c).fit({}, [&](const StepMetrics& s) { fast_steps.push_back(s.loss); });
    ModelConfig model = c.model;
    Trainer generic(c, [model](const std::vector<int64_t>& shape, int64_t classes) {
      return torch::nn::AnyModule(WrappedMlp(make_model(model, shape, classes)));
    });
    TrainResult plain =
        generic.fit({}, [&](const StepMetrics& s) { plain_steps.push_back(s.loss); });
    ASSERT_EQ(fast.history.size(), 2u);
    ASSERT_EQ(plain.history.size(), 2u);
    EXPECT_EQ(fast_steps, plain_steps) << kind;
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_EQ(fast.history[e].train_loss, plain.history[e].train_loss) << kind << " epoch " << e;
      EXPECT_EQ(fast.history[e].val_loss, plain.history[e].val_loss) << kind << " epoch " << e;
      EXPECT_EQ(fast.history[e].val_accuracy, plain.history[e].val_accuracy) << kind;
    }
  }
}

}  // namespace
}  // namespace knob
