// Trainer tests on real data: small slices of Debian's Fashion-MNIST (data.limit), plus
// files written here for the malformed-data table. One libtorch thread, fixed seeds.
#include "knob/torch/trainer.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "knob/core/error.h"
#include "knob/torch/dataset.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::TempDir;

namespace fs = std::filesystem;

TrainConfig small_config() {
  TrainConfig c;
  c.data.limit = 3000;
  c.data.validation = 1000;
  c.train.epochs = 2;
  c.train.threads = 1;
  c.output.progress = false;
  c.output.test = false;
  return c;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string idx_header(uint8_t rank, std::vector<uint32_t> dims) {
  std::string h = {0, 0, 8, static_cast<char>(rank)};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) h += static_cast<char>((d >> shift) & 0xff);
  }
  return h;
}

TEST(TrainerTest, SeedMlpLearnsFashionMnist) {
  TrainResult r = Trainer(small_config()).fit();
  ASSERT_EQ(r.history.size(), 2u);
  EXPECT_EQ(r.stop_reason, "completed");
  EXPECT_GT(r.final_val_accuracy, 0.70);  // chance is 0.10
  EXPECT_LT(r.history[1].train_loss, r.history[0].train_loss);
}

TEST(TrainerTest, SameSeedSameNumbers) {
  TrainResult a = Trainer(small_config()).fit();
  TrainResult b = Trainer(small_config()).fit();
  ASSERT_EQ(a.history.size(), b.history.size());
  for (size_t i = 0; i < a.history.size(); ++i) {
    EXPECT_DOUBLE_EQ(a.history[i].train_loss, b.history[i].train_loss);
    EXPECT_DOUBLE_EQ(a.history[i].val_accuracy, b.history[i].val_accuracy);
  }
}

TEST(TrainerTest, EveryOptimizerAndModelTrains) {
  for (const std::string kind : {"sgd", "adam", "adamw", "rmsprop", "adagrad"}) {
    TrainConfig c = small_config();
    c.train.epochs = 1;
    c.optimizer.kind = kind;
    c.optimizer.lr = kind == "sgd" ? 0.05 : 0.001;
    if (kind == "sgd") {
      c.optimizer.momentum = 0.9;
      c.optimizer.nesterov = true;
    }
    EXPECT_GT(Trainer(c).fit().final_val_accuracy, 0.5) << kind;
  }
  TrainConfig cnn = small_config();
  cnn.train.epochs = 1;
  cnn.model.kind = "cnn";
  cnn.model.channels = {8};
  EXPECT_GT(Trainer(cnn).fit().final_val_accuracy, 0.5);
}

TEST(TrainerTest, DivergenceStopsWithTheStep) {
  TrainConfig c = small_config();
  c.optimizer.kind = "sgd";
  c.optimizer.lr = 1e4;
  TrainResult r = Trainer(c).fit();
  EXPECT_EQ(r.stop_reason, "diverged");
  EXPECT_NE(r.divergence.find("at step"), std::string::npos) << r.divergence;
  EXPECT_FALSE(r.test_accuracy.has_value());
}

TEST(TrainerTest, EarlyStoppingStopsAndRestoresBest) {
  TrainConfig c = small_config();
  c.train.epochs = 30;
  c.train.monitor = "val_loss";
  c.train.patience = 2;
  c.train.min_delta = 0.05;  // demands big improvements: stops early
  c.train.restore_best = true;
  TrainResult r = Trainer(c).fit();
  EXPECT_EQ(r.stop_reason, "early_stopping");
  EXPECT_LT(r.history.size(), 30u);
}

TEST(TrainerTest, ScheduleWarmupAndBatchGrowthShowInTheHistory) {
  TrainConfig c = small_config();
  c.train.epochs = 4;
  c.schedule.kind = "step";
  c.schedule.step_size = 1;
  c.schedule.gamma = 0.5;
  c.schedule.warmup = 1;
  c.schedule.warmup_start_factor = 0.5;
  c.batch.grow_at = {2};
  c.batch.scale_lr = true;
  c.batch.base = 32;
  TrainResult r = Trainer(c).fit();
  ASSERT_EQ(r.history.size(), 4u);
  EXPECT_DOUBLE_EQ(r.history[0].lr, 0.0005);  // warm-up: 0.5 x 0.001
  EXPECT_DOUBLE_EQ(r.history[1].lr, 0.001);   // step schedule, its step 0
  EXPECT_EQ(r.history[2].batch_size, 64);     // grown at epoch 2 ...
  EXPECT_DOUBLE_EQ(r.history[2].lr, 0.001);   // ... 0.0005 x (64 / 32)
  EXPECT_EQ(r.history[1].batch_size, 32);
}

TEST(TrainerTest, EpochCallbackCanStopTheRun) {
  int calls = 0;
  EXPECT_THROW(Trainer(small_config()).fit([&](const EpochMetrics&) {
    ++calls;
    throw TrialPruned();
  }),
               TrialPruned);
  EXPECT_EQ(calls, 1);
}

// Every optimizer step reaches the step callback, numbered from 1 across epochs, with the lr the
// schedule gives that step and the epoch's batch size; an epoch ends at its last step's number;
// and training is the same with or without the callback.
TEST(TrainerTest, StepCallbackSeesEveryOptimizerStep) {
  TrainConfig c = small_config();  // 2,000 training examples
  c.batch.size = 100;
  c.batch.grow_at = {1};  // 200 in epoch 2: 20 + 10 steps
  c.schedule.kind = "step";
  c.schedule.per = "step";
  c.schedule.step_size = 7;
  c.schedule.gamma = 0.5;
  std::vector<StepMetrics> steps;
  TrainResult with = Trainer(c).fit({}, [&](const StepMetrics& m) { steps.push_back(m); });
  ASSERT_EQ(steps.size(), 30u);
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepMetrics& m = steps[i];
    const int64_t epoch = i < 20 ? 0 : 1;
    EXPECT_EQ(m.step, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(m.epoch, epoch);
    EXPECT_EQ(m.batch_size, epoch == 0 ? 100 : 200);
    EXPECT_DOUBLE_EQ(m.lr, c.optimizer.lr * std::pow(0.5, static_cast<double>(i / 7))) << i;
    EXPECT_GE(m.accuracy, 0.0);
    EXPECT_LE(m.accuracy, 1.0);
    EXPECT_DOUBLE_EQ(m.accuracy * static_cast<double>(m.batch_size),  // a count of right answers
                     std::round(m.accuracy * static_cast<double>(m.batch_size)));
  }
  EXPECT_GT(steps.back().accuracy, steps.front().accuracy);  // it learns (chance is 0.1)
  ASSERT_EQ(with.history.size(), 2u);
  EXPECT_EQ(with.history[0].step, 20);
  EXPECT_EQ(with.history[1].step, 30);
  for (int64_t e = 0; e < 2; ++e) {  // an epoch's train loss: the mean of its (equal) batches
    double sum = 0;
    for (const StepMetrics& m : steps) sum += m.epoch == e ? m.loss : 0.0;
    EXPECT_NEAR(with.history[e].train_loss, sum / (e == 0 ? 20 : 10), 1e-12);
  }
  TrainResult without = Trainer(c).fit();
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(without.history[e].train_loss, with.history[e].train_loss);
    EXPECT_EQ(without.history[e].val_accuracy, with.history[e].val_accuracy);
    EXPECT_EQ(without.history[e].step, with.history[e].step);
  }
}

TEST(TrainerTest, StepCallbackCanStopTheRun) {
  int calls = 0;
  EXPECT_THROW(Trainer(small_config())
                   .fit({},
                        [&](const StepMetrics& m) {
                          ++calls;
                          if (m.step == 3) throw TrialPruned();
                        }),
               TrialPruned);
  EXPECT_EQ(calls, 3);
}

// Stops a run after `epochs` epochs, as a crash or a pre-empted job would.
struct Interrupt {};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Interrupted after 2 of 4 epochs and resumed from the checkpoint, a run gives the numbers of
// an uninterrupted one: model, optimizer state, per-step schedule, plateau and early-stopping
// state, best weights and the dropout generator all come back.
TEST(TrainerTest, ResumedRunRepeatsTheUninterruptedOne) {
  TempDir dir;
  TrainConfig adam_cosine = small_config();
  adam_cosine.schedule.kind = "cosine";
  adam_cosine.schedule.per = "step";
  adam_cosine.schedule.warmup = 20;
  TrainConfig sgd_plateau = small_config();
  sgd_plateau.optimizer.kind = "sgd";
  sgd_plateau.optimizer.lr = 0.05;
  sgd_plateau.optimizer.momentum = 0.9;
  sgd_plateau.optimizer.nesterov = true;
  sgd_plateau.schedule.kind = "plateau";
  sgd_plateau.schedule.patience = 0;
  sgd_plateau.schedule.factor = 0.5;
  sgd_plateau.train.restore_best = true;
  sgd_plateau.train.patience = 3;
  sgd_plateau.batch.grow_at = {3};
  for (TrainConfig c : {adam_cosine, sgd_plateau}) {
    c.train.epochs = 4;
    const std::string label = c.optimizer.kind;
    TrainResult whole = Trainer(c).fit();
    ASSERT_EQ(whole.history.size(), 4u) << label;

    c.checkpoint.path = dir.file(label + ".ckpt");
    EXPECT_THROW(Trainer(c).fit([](const EpochMetrics& m) {
      if (m.epoch == 1) throw Interrupt();
    }),
                 Interrupt);
    c.checkpoint.resume = true;
    TrainResult resumed = Trainer(c).fit();
    EXPECT_EQ(resumed.resumed_epochs, 2) << label;
    ASSERT_EQ(resumed.history.size(), 4u) << label;
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(resumed.history[i].train_loss, whole.history[i].train_loss) << label << " " << i;
      EXPECT_EQ(resumed.history[i].val_loss, whole.history[i].val_loss) << label << " " << i;
      EXPECT_EQ(resumed.history[i].lr, whole.history[i].lr) << label << " " << i;
      EXPECT_EQ(resumed.history[i].step, whole.history[i].step) << label << " " << i;
    }
    EXPECT_GT(whole.final_val_accuracy, 0.5) << label;
    EXPECT_EQ(resumed.final_val_accuracy, whole.final_val_accuracy) << label;
    EXPECT_GE(whole.best_epoch, 0) << label;
    EXPECT_EQ(resumed.best_epoch, whole.best_epoch) << label;
    // A checkpoint of a finished run resumes to the same result without training.
    TrainResult again = Trainer(c).fit();
    EXPECT_EQ(again.resumed_epochs, 4) << label;
    EXPECT_EQ(again.final_val_accuracy, whole.final_val_accuracy) << label;
  }
}

TEST(TrainerTest, ResumeWithoutACheckpointStartsFresh) {
  TempDir dir;
  TrainConfig c = small_config();
  c.train.epochs = 1;
  c.checkpoint.path = dir.file("new.ckpt");
  c.checkpoint.resume = true;
  TrainResult r = Trainer(c).fit();
  EXPECT_EQ(r.resumed_epochs, 0);
  EXPECT_EQ(r.history.size(), 1u);
  EXPECT_TRUE(fs::exists(c.checkpoint.path));
}

// Checkpoints that cannot be resumed: each an InvalidArgument naming the file and what
// differs, and the file left as it was.
TEST(TrainerTest, MalformedCheckpointsAreNamedAndKept) {
  TempDir dir;
  TrainConfig base = small_config();
  base.train.epochs = 1;
  base.checkpoint.path = dir.file("run.ckpt");
  Trainer(base).fit();
  write_bytes(dir.file("garbage.ckpt"), "not a checkpoint at all");
  write_bytes(dir.file("empty.ckpt"), "");

  struct Case {
    std::string name, path;
    std::function<void(TrainConfig&)> change;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"garbage", dir.file("garbage.ckpt"), [](TrainConfig&) {}, {"garbage.ckpt", "checkpoint"}},
      {"empty", dir.file("empty.ckpt"), [](TrainConfig&) {}, {"empty.ckpt"}},
      {"other model",
       base.checkpoint.path,
       [](TrainConfig& c) { c.model.hidden = {64}; },
       {"run.ckpt", "model.hidden = [128]", "[64]"}},
      {"other optimizer",
       base.checkpoint.path,
       [](TrainConfig& c) { c.optimizer.kind = "sgd"; },
       {"run.ckpt", "optimizer.kind", "\"adam\"", "\"sgd\""}},
      {"other data",
       base.checkpoint.path,
       [](TrainConfig& c) { c.data.limit = 2000; },
       {"data.limit = 3000", "2000"}},
  };
  for (const auto& k : cases) {
    const std::string before = read_bytes(k.path);
    TrainConfig c = base;
    c.train.epochs = 2;
    c.checkpoint.path = k.path;
    c.checkpoint.resume = true;
    k.change(c);
    try {
      Trainer(c).fit();
      ADD_FAILURE() << k.name << ": no error";
    } catch (const InvalidArgument& e) {
      for (const auto& fragment : k.fragments) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << k.name << ": '" << fragment << "' not in: " << e.what();
      }
    }
    EXPECT_EQ(read_bytes(k.path), before) << k.name;
  }
}

// A module written by the user: a residual MLP block, not expressible in [model].
struct ResidualNetImpl : torch::nn::Module {
  ResidualNetImpl(int64_t features, int64_t classes)
      : input(register_module("input", torch::nn::Linear(features, 64))),
        hidden(register_module("hidden", torch::nn::Linear(64, 64))),
        output(register_module("output", torch::nn::Linear(64, classes))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(input(x.flatten(1)));
    x = x + torch::relu(hidden(x));
    return output(x);
  }
  torch::nn::Linear input, hidden, output;
};
TORCH_MODULE(ResidualNet);

TEST(TrainerTest, CustomModuleTrainsAndCheckpoints) {
  TempDir dir;
  std::vector<int64_t> seen_shape;
  ModelFactory factory = [&](const std::vector<int64_t>& shape, int64_t classes) {
    seen_shape = shape;
    int64_t features = 1;
    for (int64_t d : shape) features *= d;
    return torch::nn::AnyModule(ResidualNet(features, classes));
  };
  TrainConfig c = small_config();
  c.checkpoint.path = dir.file("custom.ckpt");
  TrainResult r = Trainer(c, factory).fit();
  EXPECT_EQ(seen_shape, (std::vector<int64_t>{28, 28}));
  EXPECT_EQ(r.stop_reason, "completed") << r.divergence;
  EXPECT_EQ(r.history.size(), 2u);
  EXPECT_GT(r.final_val_accuracy, 0.70);
  c.checkpoint.resume = true;
  c.train.epochs = 3;  // one more epoch on top of the checkpoint
  TrainResult more = Trainer(c, factory).fit();
  EXPECT_EQ(more.resumed_epochs, 2);
  EXPECT_EQ(more.history.size(), 3u);
  // The seed MLP's parameters do not fit the custom module's checkpoint.
  TrainConfig mlp = c;
  EXPECT_THROW(Trainer(mlp).fit(), InvalidArgument);
}

TEST(TrainerTest, LrFindIsReproducibleAndSuggestsAWorkingRate) {
  TrainConfig c = small_config();
  LrFindResult a = Trainer(c).find_lr();
  LrFindResult b = Trainer(c).find_lr();
  ASSERT_GE(a.lrs.size(), 17u);
  EXPECT_EQ(a.losses, b.losses);  // same seed, same curve, same suggestion
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.stop_reason, "diverged");  // Adam at lr 10 does diverge
  EXPECT_LT(a.lrs.size(), 100u);
  EXPECT_EQ(a.chosen, "valley");
  ASSERT_EQ(a.suggestions.size(), 3u);
  for (const auto& s : a.suggestions) {
    EXPECT_GT(s.lr, 1e-6) << s.name;
    EXPECT_LT(s.lr, 1.0) << s.name;
  }
  // The smoothed loss falls from its start before it diverges.
  EXPECT_LT(*std::min_element(a.smoothed.begin(), a.smoothed.end()), 0.8 * a.smoothed.front());
  // The suggested rate trains: better than chance by far in one epoch.
  TrainConfig with = c;
  with.optimizer.lr = a.lr;
  with.train.epochs = 1;
  EXPECT_GT(Trainer(with).fit().final_val_accuracy, 0.7);
}

// optimizer.lr = "find" trains exactly as the suggested rate set by hand: the range test
// leaves nothing behind (model, optimizer, random generator).
TEST(TrainerTest, LrFindThenFitEqualsFitAtTheSuggestedRate) {
  TrainConfig c = small_config();
  c.lr_find.use = true;
  TrainResult found = Trainer(c).fit();
  ASSERT_TRUE(found.lr_find.has_value());
  TrainConfig manual = small_config();
  manual.optimizer.lr = found.lr_find->lr;
  TrainResult by_hand = Trainer(manual).fit();
  ASSERT_EQ(found.history.size(), by_hand.history.size());
  for (size_t i = 0; i < found.history.size(); ++i) {
    EXPECT_EQ(found.history[i].lr, found.lr_find->lr);
    EXPECT_EQ(found.history[i].train_loss, by_hand.history[i].train_loss) << i;
    EXPECT_EQ(found.history[i].val_loss, by_hand.history[i].val_loss) << i;
  }
}

// A model whose output is NaN before any update: a clear error, not a curve of NaN.
struct NanNetImpl : torch::nn::Module {
  NanNetImpl() : linear(register_module("linear", torch::nn::Linear(784, 10))) {}
  torch::Tensor forward(torch::Tensor x) { return linear(x.flatten(1)) * NAN; }
  torch::nn::Linear linear;
};
TORCH_MODULE(NanNet);

TEST(TrainerTest, LrFindNamesANanModel) {
  Trainer trainer(small_config(), [](const std::vector<int64_t>&, int64_t) {
    return torch::nn::AnyModule(NanNet());
  });
  try {
    trainer.find_lr();
    FAIL() << "no error";
  } catch (const TrainingDiverged& e) {
    EXPECT_NE(std::string(e.what()).find("first step"), std::string::npos) << e.what();
  }
}

// The batch-size finder on 2000 training examples, with short timing and noise runs.
TrainConfig finder_config() {
  TrainConfig c = small_config();
  c.batch_find.steps = 1;
  c.batch_find.noise_batches = 5;
  c.batch_find.noise_warmup = 20;
  return c;
}

std::vector<int64_t> trial_sizes(const BatchFindResult& r) {
  std::vector<int64_t> out;
  for (const auto& t : r.trials) out.push_back(t.size);
  return out;
}

// Every number reported is one measured: recommended and largest sizes are trials that fit.
void expect_only_tested_sizes_reported(const BatchFindResult& r) {
  std::set<int64_t> fitting;
  for (const auto& t : r.trials) {
    EXPECT_LE(t.size, r.cap);
    EXPECT_GE(t.size, 1);
    if (t.fits) fitting.insert(t.size);
  }
  const std::vector<int64_t> sizes = trial_sizes(r);
  EXPECT_EQ(std::set<int64_t>(sizes.begin(), sizes.end()).size(), sizes.size());  // none twice
  EXPECT_TRUE(fitting.count(r.largest_fitting)) << r.largest_fitting;
  EXPECT_TRUE(fitting.count(r.recommended)) << r.recommended;
  EXPECT_DOUBLE_EQ(r.lr, r.base_lr * static_cast<double>(r.recommended) / r.base);
}

TEST(TrainerTest, BatchFindDoublesUpToTheCapWithinABigBudget) {
  TrainConfig c = finder_config();
  c.batch_find.max_size = 1000;
  c.batch_find.memory_budget = 1e6;  // about a terabyte: everything fits
  BatchFindResult r = Trainer(c).find_batch_size();
  EXPECT_EQ(trial_sizes(r), (std::vector<int64_t>{16, 32, 64, 128, 256, 512, 1000}));
  EXPECT_EQ(r.cap, 1000);
  EXPECT_EQ(r.largest_fitting, 1000);
  expect_only_tested_sizes_reported(r);
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const BatchTrial& t = r.trials[i];
    EXPECT_TRUE(t.fits);
    EXPECT_GT(t.samples_per_second, 0);
    // The float batch alone is size x 784 x 4 bytes; the step holds more (activations, ...).
    EXPECT_GT(t.peak_mib * 1024 * 1024, static_cast<double>(t.size) * 784 * 4) << t.size;
    // At small sizes the optimizer's step (parameter-sized temporaries) sets the peak.
    if (i > 0) {
      EXPECT_GE(t.peak_mib, r.trials[i - 1].peak_mib) << t.size;
    }
  }
  // At large sizes the batch does: from 512 to 1000 at least the 488 more float inputs, which
  // the first layer keeps for its backward pass.
  EXPECT_GT((r.trials[6].peak_mib - r.trials[5].peak_mib) * 1024 * 1024, 488.0 * 784 * 4);
  // Noise scale from batches of 16 and 250 (1/8 of the 2000 training examples).
  EXPECT_EQ(r.noise.b_small, 16);
  EXPECT_EQ(r.noise.b_big, 250);
  EXPECT_EQ(r.noise.batches, 5);
  EXPECT_GT(r.noise.mean_small_sq, r.noise.mean_big_sq);  // smaller batches, noisier gradients
  EXPECT_GT(r.noise.trace, 0);
}

TEST(TrainerTest, BatchFindStopsWhereTheBudgetRunsOutAndIsReproducible) {
  TrainConfig c = finder_config();
  c.batch_find.memory_budget = 1e6;
  BatchFindResult wide = Trainer(c).find_batch_size();
  ASSERT_EQ(wide.cap, 2000);  // the training-set size
  std::map<int64_t, double> peak;
  for (const auto& t : wide.trials) peak[t.size] = t.peak_mib;
  ASSERT_TRUE(peak.count(256) && peak.count(512));
  // A budget between the steps of 256 and 512: the search must stop in [256, 512).
  c.batch_find.memory_budget = (peak[256] + peak[512]) / 2;
  BatchFindResult a = Trainer(c).find_batch_size();
  BatchFindResult b = Trainer(c).find_batch_size();
  expect_only_tested_sizes_reported(a);
  EXPECT_GE(a.largest_fitting, 256);
  EXPECT_LT(a.largest_fitting, 512);
  bool tried_512 = false;
  for (const auto& t : a.trials) {
    EXPECT_LE(t.size, 512);
    if (t.size == 512) {
      tried_512 = true;
      EXPECT_FALSE(t.fits);
      EXPECT_DOUBLE_EQ(t.peak_mib, peak[512]);  // the same step needs the same memory
    }
    EXPECT_EQ(t.fits, t.peak_mib <= *c.batch_find.memory_budget) << t.size;
  }
  EXPECT_TRUE(tried_512);
  // Same seed: the same sizes, memory, noise scale and recommendation.
  EXPECT_EQ(trial_sizes(a), trial_sizes(b));
  EXPECT_EQ(a.noise.b_simple, b.noise.b_simple);
  EXPECT_EQ(a.recommended, b.recommended);
  EXPECT_LE(a.recommended, a.largest_fitting);
}

TEST(TrainerTest, BatchFindMalformedInputIsNamed) {
  struct Case {
    std::string name;
    std::function<void(TrainConfig&)> set;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"cap above the training set",
       [](TrainConfig& c) { c.batch_find.max_size = 5000; },
       {"batch_find.max_size = 5000", "number of training examples (2000)"}},
      {"start above the default cap",
       [](TrainConfig& c) { c.batch_find.start = 4096; },
       {"batch_find.start = 4096", "(2000, the training-set size"}},
      {"budget too small for the start",
       [](TrainConfig& c) { c.batch_find.memory_budget = 0.01; },
       {"batch_find.memory_budget = 0.01", "too small for batch_find.start = 16", "MiB"}},
      {"budget zero",
       [](TrainConfig& c) { c.batch_find.memory_budget = 0.0; },
       {"batch_find.memory_budget = 0", "> 0"}},
      {"start above the cap",
       [](TrainConfig& c) {
         c.batch_find.max_size = 64;
         c.batch_find.start = 128;
       },
       {"batch_find.start = 128", "batch_find.max_size (64)"}},
  };
  for (const auto& k : cases) {
    TrainConfig c = finder_config();
    k.set(c);
    try {
      Trainer(c).find_batch_size();
      ADD_FAILURE() << k.name << ": no error";
    } catch (const InvalidArgument& e) {
      for (const auto& fragment : k.fragments) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << k.name << ": '" << fragment << "' not in: " << e.what();
      }
    }
  }
}

// batch.size = "find" trains at the recommended size, with the scaled lr under scale_lr.
TEST(TrainerTest, BatchSizeFindTrainsAtTheRecommendedSize) {
  TrainConfig c = finder_config();
  c.train.epochs = 1;
  c.batch_find.max_size = 256;
  c.batch_find.memory_budget = 1e6;
  c.batch_find.use = true;
  c.batch.scale_lr = true;
  TrainResult r = Trainer(c).fit();
  ASSERT_TRUE(r.batch_find.has_value());
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_EQ(r.history[0].batch_size, r.batch_find->recommended);
  EXPECT_DOUBLE_EQ(r.history[0].lr, r.batch_find->lr);
  // Nothing of the finder carries over: the same run with the size set by hand is identical.
  TrainConfig manual = c;
  manual.batch_find.use = false;
  manual.batch.size = r.batch_find->recommended;
  TrainResult by_hand = Trainer(manual).fit();
  EXPECT_EQ(r.history[0].train_loss, by_hand.history[0].train_loss);
}

TEST(TrainerTest, CsvDataTrains) {
  TempDir dir;
  std::ofstream csv(dir.file("xor.csv"));
  csv << "a,b,label\n";
  for (int i = 0; i < 400; ++i) {
    int a = i % 2, b = (i / 2) % 2;
    csv << a << "," << b << "," << (a ^ b) << "\n";
  }
  csv.close();
  TrainConfig c = small_config();
  c.data.source = "csv";
  c.data.train_csv = dir.file("xor.csv");
  c.data.validation = 100;
  c.data.limit = 0;
  c.model.hidden = {16};
  c.model.dropout = 0;
  c.optimizer.lr = 0.05;
  c.train.epochs = 20;
  EXPECT_GT(Trainer(c).fit().final_val_accuracy, 0.95);
}

TEST(TrainerTest, IdxReaderReadsGzipAndRaw) {
  TempDir dir;
  std::string bytes = idx_header(3, {2, 2, 2}) + std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  write_bytes(dir.file("raw.idx"), bytes);
  gzFile gz = gzopen(dir.file("packed.idx.gz").c_str(), "wb");
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
  for (const auto& name : {"raw.idx", "packed.idx.gz"}) {
    torch::Tensor t = read_idx(dir.file(name));
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 2, 2})) << name;
    EXPECT_EQ(t.flatten()[7].item<int64_t>(), 8) << name;
  }
}

// Malformed data and configs: an InvalidArgument naming what is wrong, before training starts.
TEST(TrainerTest, MalformedDataIsNamed) {
  TempDir dir;
  write_bytes(dir.file("truncated.idx"), idx_header(3, {10, 28, 28}) + std::string(100, '\0'));
  write_bytes(dir.file("notidx.idx"), "hello world, not idx");
  write_bytes(dir.file("labels.idx"), idx_header(1, {4}) + std::string("\x00\x01\x02\x09", 4));
  write_bytes(dir.file("images.idx"), idx_header(3, {4, 2, 2}) + std::string(16, '\x10'));
  write_bytes(dir.file("bad_labels.idx"), idx_header(1, {3}) + std::string("\x00\x01\x02", 3));
  std::ofstream(dir.file("bad.csv")) << "a,label\n1.0,0\nx,1\n";
  std::ofstream(dir.file("nolabel.csv")) << "a,b\n1,2\n";

  struct Case {
    std::string name;
    std::function<void()> run;
    std::string fragment;
  };
  auto idx_config = [&](const std::string& images, const std::string& labels) {
    TrainConfig c = small_config();
    c.data.source = "idx";
    c.data.train_images = images;
    c.data.train_labels = labels;
    c.data.validation = 1;
    c.data.limit = 0;
    return c;
  };
  const std::vector<Case> cases = {
      {"missing file", [&] { read_idx(dir.file("absent.idx")); }, "absent.idx"},
      {"truncated", [&] { read_idx(dir.file("truncated.idx")); }, "truncated"},
      {"bad magic", [&] { read_idx(dir.file("notidx.idx")); }, "not an IDX file"},
      {"label count mismatch",
       [&] { Trainer(idx_config(dir.file("images.idx"), dir.file("bad_labels.idx"))); },
       "one label per example"},
      {"non-numeric csv", [&] { read_csv(dir.file("bad.csv"), "label"); }, "bad.csv:3"},
      {"missing label column", [&] { read_csv(dir.file("nolabel.csv"), "label"); },
       "data.label_column"},
      {"batch larger than data",
       [&] {
         TrainConfig c = small_config();
         c.batch.size = 5000;
         Trainer t(c);
       },
       "batch.size = 5000"},
      {"validation larger than data",
       [&] {
         TrainConfig c = small_config();
         c.data.validation = 3000;
         Trainer t(c);
       },
       "data.validation"},
      {"lr zero",
       [&] {
         TrainConfig c = small_config();
         c.optimizer.lr = 0;
         Trainer t(c);
       },
       "optimizer.lr"},
      {"missing dataset dir",
       [&] {
         TrainConfig c = small_config();
         c.data.dir = dir.file("nowhere");
         Trainer t(c);
       },
       "nowhere"},
  };
  for (const auto& c : cases) {
    try {
      c.run();
      ADD_FAILURE() << c.name << ": no error";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos)
          << c.name << ": '" << c.fragment << "' not in: " << e.what();
    }
  }
}

}  // namespace
}  // namespace knob
