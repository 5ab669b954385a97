// The trainer on the user's own things: TorchScript models (files written by
// scripts/gen_torchscript_models.py with Debian's python3-torch), the user's own tensors through
// make_data_splits, the regression and multi-label losses and their metrics, devices, and the
// trained model saved by output.model. Small slices of Fashion-MNIST, one libtorch thread.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "knob/core/error.h"
#include "knob/torch/dataset.h"
#include "knob/torch/script_module.h"
#include "knob/torch/trainer.h"
#include "knob/train/task.h"
#include "testing/test_support.h"

namespace knob {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string model_file(const std::string& name) {
  return std::string(KNOB_TEST_DATA_DIR) + "/torchscript/" + name;
}

TrainConfig script_config() {
  TrainConfig c;
  c.model.kind = "torchscript";
  c.model.path = model_file("tiny_cnn.pt");
  c.data.limit = 3000;
  c.data.validation = 1000;
  c.train.epochs = 2;
  c.train.threads = 1;
  c.output.progress = false;
  c.output.test = false;
  c.optimizer.lr = 3e-3;
  return c;
}

// The file's named buffers (BatchNorm's running statistics), as loaded.
std::map<std::string, torch::Tensor> buffers_of(const std::string& path) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& b : torch::jit::load(path).named_buffers()) out[b.name] = b.value.clone();
  return out;
}

TEST(UserModelTest, TorchScriptModelTrainsAndIsSavedAsTorchScript) {
  TempDir dir;
  TrainConfig c = script_config();
  c.output.model = dir.path() + "/trained.pt";
  TrainResult r = Trainer(c).fit();
  EXPECT_GT(r.final_val_accuracy, 0.6);
  EXPECT_EQ(r.model_path, c.output.model);
  // What Python's torch.jit.load reads: the trained weights, batch statistics and all.
  torch::jit::Module saved = torch::jit::load(c.output.model);
  const auto before = buffers_of(c.model.path), after = buffers_of(c.output.model);
  EXPECT_FALSE(torch::equal(before.at("bn.running_mean"), after.at("bn.running_mean")));
  EXPECT_GT(after.at("bn.num_batches_tracked").item<int64_t>(), 0);
  // Saved in eval mode: the same input gives the same logits twice (dropout off).
  torch::Tensor x = torch::rand({4, 28, 28});
  EXPECT_FALSE(saved.is_training());
  EXPECT_TRUE(torch::equal(saved.forward({x}).toTensor(), saved.forward({x}).toTensor()));
}

TEST(UserModelTest, EveryRunStartsFromTheFilesWeightsUnlessReinitialised) {
  TrainConfig c = script_config();
  c.train.epochs = 1;
  c.data.limit = 1500;
  const TrainResult a = Trainer(c).fit();
  c.train.seed = 7;  // another seed shuffles differently, from the same weights
  const TrainResult b = Trainer(c).fit();
  c.train.seed = 0;
  const TrainResult again = Trainer(c).fit();
  EXPECT_EQ(a.history[0].val_loss, again.history[0].val_loss);
  EXPECT_NE(a.history[0].val_loss, b.history[0].val_loss);

  // reinit: PyTorch's initialisation from the seed, different from the file's.
  ScriptModule file(c.model.path, /*reinit=*/false);
  torch::manual_seed(3);
  ScriptModule fresh(c.model.path, /*reinit=*/true);
  torch::manual_seed(3);
  ScriptModule same_seed(c.model.path, /*reinit=*/true);
  auto weight = [](ScriptModule& m) { return m->parameters()[0]; };  // conv.weight [4, 1, 3, 3]
  EXPECT_FALSE(torch::equal(weight(file), weight(fresh)));
  EXPECT_TRUE(torch::equal(weight(fresh), weight(same_seed)));
  const double bound = 1.0 / 3.0;  // 1/sqrt(fan_in = 1 * 3 * 3)
  EXPECT_LE(weight(fresh).abs().max().item<double>(), bound);
}

// restore_best puts back the buffers with the parameters: the final model's validation metrics
// are the best epoch's exactly. A min_delta no later epoch can beat makes epoch 1 the best.
TEST(UserModelTest, RestoreBestRestoresBatchNormStatistics) {
  TrainConfig c = script_config();
  c.train.epochs = 3;
  c.train.monitor = "val_loss";
  c.train.restore_best = true;
  c.train.min_delta = 1e9;
  TrainResult r = Trainer(c).fit();
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_EQ(r.final_validation.val_loss, r.history[0].val_loss);
  EXPECT_EQ(r.final_val_accuracy, r.history[0].val_accuracy);
  EXPECT_NE(r.history[2].val_loss, r.history[0].val_loss);
}

TEST(UserModelTest, CheckpointsOfATorchScriptModelResume) {
  TempDir dir;
  TrainConfig c = script_config();
  c.train.epochs = 2;
  c.data.limit = 1500;
  const TrainResult whole = Trainer(c).fit();
  c.checkpoint.path = dir.path() + "/run.ckpt";
  c.checkpoint.resume = true;
  EXPECT_THROW(Trainer(c).fit([](const EpochMetrics& m) {
    if (m.epoch == 0) throw std::runtime_error("stop after the first epoch");
  }),
               std::runtime_error);
  const TrainResult resumed = Trainer(c).fit();
  EXPECT_EQ(resumed.resumed_epochs, 1);
  EXPECT_EQ(resumed.history.back().val_loss, whole.history.back().val_loss);
}

// A regression problem in the user's own tensors: y = x . w + 0.1 noise.
std::shared_ptr<const DataSplits> linear_data(int64_t outputs) {
  torch::manual_seed(11);
  const torch::Tensor w = torch::randn({8, outputs});
  auto make = [&](int64_t n) {
    torch::Tensor x = torch::randn({n, 8});
    return Dataset{x, x.matmul(w) + 0.1 * torch::randn({n, outputs}), outputs};
  };
  return make_data_splits(make(2000), make(500), make(500), /*normalize=*/false);
}

TrainConfig regression_config(const std::string& loss) {
  TrainConfig c;
  c.train.loss = loss;
  c.train.epochs = 6;
  c.train.threads = 1;
  c.output.progress = false;
  c.optimizer.lr = 1e-2;
  c.model.hidden = {32};
  c.model.dropout = 0;
  return c;
}

TEST(UserModelTest, RegressionOnOwnTensorsReportsRmseMaeAndR2) {
  for (const std::string loss : {"mse", "l1", "smooth_l1"}) {
    TrainResult r = Trainer(regression_config(loss), {}, linear_data(2)).fit();
    EXPECT_EQ(r.objective, "val_loss") << loss;
    const EpochMetrics& last = r.history.back();
    EXPECT_TRUE(std::isnan(last.val_accuracy)) << loss;
    EXPECT_GT(last.val_r2, 0.9) << loss;
    EXPECT_LT(last.val_mae, last.val_rmse + 1e-12) << loss;  // MAE <= RMSE always
    if (loss == "mse") {
      EXPECT_NEAR(last.val_loss, last.val_rmse * last.val_rmse, 1e-6);
    } else if (loss == "l1") {
      EXPECT_NEAR(last.val_loss, last.val_mae, 1e-6);
    }
    EXPECT_FALSE(r.test_accuracy.has_value()) << loss;
    ASSERT_TRUE(r.test_loss.has_value()) << loss;
    EXPECT_EQ(r.final_validation.val_r2, last.val_r2) << loss;
  }
}

TEST(UserModelTest, TheObjectiveChoosesTheBestEpochAndEarlyStoppingWatchesIt) {
  TrainConfig c = regression_config("mse");
  c.train.objective = "val_r2";  // maximized
  TrainResult r = Trainer(c, {}, linear_data(1)).fit();
  double best = -INFINITY;
  for (const auto& m : r.history) best = std::max(best, m.val_r2);
  EXPECT_EQ(r.best_objective, best);
  EXPECT_EQ(r.history[r.best_epoch].val_r2, best);
  EXPECT_EQ(monitor_of(c), "val_r2");
}

TEST(UserModelTest, MultiLabelWithBceWithLogits) {
  torch::manual_seed(5);
  auto make = [](int64_t n) {
    torch::Tensor x = torch::randn({n, 6});
    torch::Tensor y =
        torch::stack(
            {x.select(1, 0) > 0, x.select(1, 1) + x.select(1, 2) > 0, x.select(1, 3) < 0.5}, 1)
            .to(torch::kFloat32);
    return Dataset{x, y, 3};
  };
  TrainConfig c = regression_config("bce_with_logits");
  TrainResult r = Trainer(c, {}, make_data_splits(make(2000), make(500), {}, false)).fit();
  EXPECT_EQ(r.objective, "val_accuracy");
  EXPECT_GT(r.final_val_accuracy, 0.9);  // per label
  EXPECT_TRUE(std::isnan(r.history.back().val_rmse));
}

TEST(UserModelTest, OwnModuleAndTensorsAreSavedAndLoadBack) {
  TempDir dir;
  TrainConfig c = regression_config("mse");
  c.train.epochs = 2;
  c.output.model = dir.path() + "/mlp.pt";
  auto data = linear_data(1);
  TrainResult r = Trainer(c, {}, data).fit();
  // A libtorch archive of the parameters and buffers: torch::load into the same model.
  torch::nn::Sequential again = torch::nn::Sequential(
      torch::nn::Flatten(), torch::nn::Linear(8, 32), torch::nn::ReLU(), torch::nn::Linear(32, 1));
  torch::load(again, c.output.model);
  again->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor error = again->forward(data->validation.inputs) - data->validation.labels;
  EXPECT_NEAR(std::sqrt(error.square().mean().item<double>()), r.final_validation.val_rmse, 1e-5);
}

TEST(UserModelTest, MalformedModelsLossesAndDevicesAreNamed) {
  TempDir dir;
  std::ofstream(dir.path() + "/not_a_model.pt") << "plain text, not TorchScript";
  struct Case {
    std::string name;
    std::function<void(TrainConfig&)> set;
    std::vector<std::string> fragments;
    bool own_regression_data = false;
  };
  const std::vector<Case> cases = {
      {"missing file",
       [](TrainConfig& c) { c.model.path = "/nonexistent/net.pt"; },
       {"model.path", "/nonexistent/net.pt", "no such file"}},
      {"not TorchScript",
       [&](TrainConfig& c) { c.model.path = dir.path() + "/not_a_model.pt"; },
       {"model.path", "not_a_model.pt", "TorchScript"}},
      {"forward returns a tuple",
       [](TrainConfig& c) { c.model.path = model_file("tuple_output.pt"); },
       {"model.path", "tuple_output.pt", "one Tensor", "Tuple"}},
      {"inputs the model rejects",
       [](TrainConfig& c) { c.model.path = model_file("tiny_regressor.pt"); },
       {"model.path", "tiny_regressor.pt", "failed on an input batch of shape [32, 28, 28]",
        "[28, 28]", "mat1 and mat2 shapes cannot be multiplied"}},
      {"cuda on a CPU libtorch",
       [](TrainConfig& c) { c.train.device = "cuda"; },
       {"train.device = \"cuda\"", "no CUDA", "cpu"}},
      {"cuda:1 on a CPU libtorch",
       [](TrainConfig& c) { c.train.device = "cuda:1"; },
       {"train.device = \"cuda:1\"", "no CUDA"}},
      {"classification loss on float targets",
       [](TrainConfig& c) { c.model.kind = "mlp"; },
       {"train.loss = \"cross_entropy\"", "class labels", "mse"},
       true},
      {"regression loss on class labels",
       [](TrainConfig& c) { c.train.loss = "mse"; },
       {"data.source = \"fashion-mnist\"", "class labels", "csv or npy"}},
  };
  for (const auto& c : cases) {
    TrainConfig config = script_config();
    config.train.epochs = 1;
    config.data.limit = 1200;
    c.set(config);
    auto fit = [&] {
      if (c.own_regression_data) {
        Trainer(config, {}, linear_data(1)).fit();
      } else {
        Trainer(config).fit();
      }
    };
    testing::expect_invalid(c.name, fit, c.fragments);
  }
  // Your own tensors with class labels under a regression loss.
  Dataset classes{torch::randn({100, 8}), torch::randint(0, 3, {100}), 3};
  TrainConfig mse = regression_config("mse");
  testing::expect_invalid(
      "regression loss on own class labels",
      [&] { Trainer(mse, {}, make_data_splits(classes, classes.slice(0, 20), {}, false)); },
      {"train.loss = \"mse\"", "float targets", "cross_entropy"});
  // A module whose outputs do not fit the targets: 3 outputs for 1 target.
  TrainConfig c = regression_config("mse");
  c.train.epochs = 1;
  auto three_outputs = [](const std::vector<int64_t>& shape, int64_t) {
    return torch::nn::AnyModule(torch::nn::Linear(shape[0], 3));
  };
  testing::expect_invalid("outputs that do not fit the targets",
                          [&] { Trainer(c, three_outputs, linear_data(1)).fit(); },
                          {"train.loss = \"mse\"", "one model output per target", "[32, 3]"});
}

}  // namespace
}  // namespace knob
