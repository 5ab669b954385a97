#include "knob/train/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "knob/core/error.h"
#include "knob/train/task.h"

namespace knob {
namespace {

TEST(TrainConfigTest, DefaultsAreTheSeedModel) {
  TrainConfig c;
  EXPECT_EQ(c.data.source, "fashion-mnist");
  EXPECT_EQ(c.model.kind, "mlp");
  EXPECT_EQ(c.model.hidden, std::vector<int64_t>{128});
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.2);
  EXPECT_EQ(c.optimizer.kind, "adam");
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.001);
  EXPECT_EQ(c.batch.size, 32);
  EXPECT_EQ(c.train.loss, "cross_entropy");
  EXPECT_EQ(objective_of(c), "val_accuracy");
  EXPECT_EQ(monitor_of(c), "val_accuracy");
  EXPECT_NO_THROW(validate(c));
}

// The task a loss implies decides the metrics, the default objective and their directions.
TEST(TrainConfigTest, TheLossDecidesTheTaskAndItsMetrics) {
  TrainConfig c;
  apply_override(c, "train.loss=mse");
  EXPECT_EQ(task_of(c.train.loss), Task::kRegression);
  EXPECT_EQ(objective_of(c), "val_loss");
  apply_override(c, "train.objective=val_r2");
  EXPECT_EQ(monitor_of(c), "val_r2");
  apply_override(c, "train.monitor=val_mae");
  EXPECT_EQ(monitor_of(c), "val_mae");
  EXPECT_NO_THROW(validate(c));
  EXPECT_EQ(epoch_metric_names(Task::kRegression),
            (std::vector<std::string>{"train_loss", "val_loss", "val_rmse", "val_mae", "val_r2"}));
  EXPECT_EQ(epoch_metric_names(Task::kMultiLabel),
            (std::vector<std::string>{"train_loss", "val_loss", "val_accuracy"}));
  EXPECT_TRUE(metric_maximized("val_r2"));
  EXPECT_TRUE(metric_maximized("val_accuracy"));
  EXPECT_FALSE(metric_maximized("val_rmse"));
  EXPECT_FALSE(metric_maximized("train_loss"));
  EpochMetrics m;
  m.val_rmse = 0.5;
  m.val_r2 = 0.75;
  EXPECT_EQ(epoch_metric(m, "val_rmse"), 0.5);
  EXPECT_EQ(epoch_metric(m, "val_r2"), 0.75);
  EXPECT_TRUE(std::isnan(EpochMetrics{}.val_mae));
  EXPECT_THROW(epoch_metric(m, "f1"), InvalidArgument);
  for (const char* device : {"cpu", "cuda", "cuda:0", "cuda:12"}) {
    TrainConfig d;
    apply_override(d, std::string("train.device=\"") + device + "\"");
    EXPECT_NO_THROW(validate(d)) << device;
  }
}

TEST(TrainConfigTest, ParsesEveryTable) {
  TrainConfig c = parse_train_config(R"(
[data]
validation = 5000
split = "random"
[model]
kind = "cnn"
hidden = [256, 64]
dropout = 0.1
[optimizer]
kind = "sgd"
lr = 0.1
momentum = 0.9
nesterov = true
[schedule]
kind = "multistep"
milestones = [5, 8]
warmup = 1
[batch]
size = 64
grow_at = [3]
[train]
epochs = 12
seed = 7
baseline = 0.5
[output]
metrics = "m.csv"
[study]
anything = "left to the study reader"
)",
                                     "inline.toml");
  EXPECT_EQ(c.data.validation, 5000);
  EXPECT_EQ(c.data.split, "random");
  EXPECT_EQ(c.model.kind, "cnn");
  EXPECT_EQ(c.model.hidden, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(c.optimizer.kind, "sgd");
  EXPECT_TRUE(c.optimizer.nesterov);
  EXPECT_EQ(c.schedule.milestones, (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(c.batch.grow_at, std::vector<int64_t>{3});
  EXPECT_EQ(c.train.seed, 7u);
  ASSERT_TRUE(c.train.baseline.has_value());
  EXPECT_DOUBLE_EQ(*c.train.baseline, 0.5);
  EXPECT_EQ(c.output.metrics, "m.csv");
  EXPECT_NO_THROW(validate(c));
}

TEST(TrainConfigTest, ParsesSequentialScheduleAndCheckpoint) {
  TrainConfig c = parse_train_config(R"(
[schedule]
kind = "sequential"
phases = ["constant", "cosine"]
switch_at = [4]
[checkpoint]
path = "run.ckpt"
every = 2
resume = true
)",
                                     "inline.toml");
  EXPECT_EQ(c.schedule.phases, (std::vector<std::string>{"constant", "cosine"}));
  EXPECT_EQ(c.schedule.switch_at, std::vector<int64_t>{4});
  EXPECT_EQ(c.checkpoint.path, "run.ckpt");
  EXPECT_EQ(c.checkpoint.every, 2);
  EXPECT_TRUE(c.checkpoint.resume);
  EXPECT_NO_THROW(validate(c));
  apply_override(c, "schedule.phases=[\"step\", \"exponential\"]");
  EXPECT_EQ(c.schedule.phases, (std::vector<std::string>{"step", "exponential"}));
}

TEST(TrainConfigTest, ParsesPiecewiseScheduleFromFileAndOverride) {
  TrainConfig c = parse_train_config(R"(
[schedule]
kind = "piecewise"
lrs = [0.1, 0.1, 0.05]
)",
                                     "inline.toml");
  EXPECT_EQ(c.schedule.lrs, (std::vector<double>{0.1, 0.1, 0.05}));
  EXPECT_NO_THROW(validate(c));
  // Integers widen; the value reads back as a list of doubles.
  apply_override(c, "schedule.lrs=[1, 0.5, 0.25]");
  EXPECT_EQ(c.schedule.lrs, (std::vector<double>{1.0, 0.5, 0.25}));
  EXPECT_EQ(std::get<std::vector<double>>(get_config_value(c, "schedule.lrs")),
            (std::vector<double>{1.0, 0.5, 0.25}));
  TrainConfig o;
  apply_override(o, "schedule.kind=piecewise");
  apply_override(o, "schedule.lrs=[0.02, 0.01]");
  EXPECT_EQ(o.schedule.kind, "piecewise");
  EXPECT_EQ(o.schedule.lrs, (std::vector<double>{0.02, 0.01}));
  EXPECT_NO_THROW(validate(o));
}

TEST(TrainConfigTest, LrFindSetsTheRangeTestOn) {
  TrainConfig c = parse_train_config("[optimizer]\nlr = \"find\"\n", "inline.toml");
  EXPECT_TRUE(c.lr_find.use);
  EXPECT_NO_THROW(validate(c));
  apply_override(c, "optimizer.lr=0.01");
  EXPECT_FALSE(c.lr_find.use);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.01);
  set_config_value(c, "optimizer.lr", ParamValue(std::string("find")));
  EXPECT_TRUE(c.lr_find.use);
}

TEST(TrainConfigTest, BatchFindSetsTheFinderOnAndItsTablesAreRead) {
  TrainConfig c = parse_train_config(
      "[batch]\nsize = \"find\"\n[batch_find]\nstart = 8\nmax_size = 512\n"
      "memory_budget = 64.5\nnoise_batches = 4\n[lr_find]\nsteps = 40\n",
      "inline.toml");
  EXPECT_TRUE(c.batch_find.use);
  EXPECT_EQ(c.batch.size, 32);  // untouched: the finder's answer replaces it in fit()
  EXPECT_EQ(c.batch_find.start, 8);
  EXPECT_EQ(c.batch_find.max_size, 512);
  EXPECT_EQ(c.batch_find.memory_budget, 64.5);
  EXPECT_EQ(c.batch_find.noise_batches, 4);
  EXPECT_EQ(c.lr_find.steps, 40);  // [lr_find] is read from files too
  EXPECT_NO_THROW(validate(c));
  apply_override(c, "batch.size=64");
  EXPECT_FALSE(c.batch_find.use);
  EXPECT_EQ(c.batch.size, 64);
  set_config_value(c, "batch.size", ParamValue(std::string("find")));
  EXPECT_TRUE(c.batch_find.use);
  EXPECT_FALSE(TrainConfig().batch_find.memory_budget.has_value());
}

TEST(TrainConfigTest, IntegersWidenToDoublesAndExactDoublesNarrow) {
  TrainConfig c;
  set_config_value(c, "optimizer.lr", ConfigValue(int64_t{1}));
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 1.0);
  set_config_value(c, "batch.size", ConfigValue(64.0));
  EXPECT_EQ(c.batch.size, 64);
  set_config_value(c, "model.hidden", ConfigValue(int64_t{300}));
  EXPECT_EQ(c.model.hidden, std::vector<int64_t>{300});
}

TEST(TrainConfigTest, TunerParamValuesSetFields) {
  TrainConfig c;
  set_config_value(c, "optimizer.kind", ParamValue(std::string("rmsprop")));
  set_config_value(c, "batch.size", ParamValue(int64_t{128}));
  set_config_value(c, "optimizer.nesterov", ParamValue(false));
  EXPECT_EQ(c.optimizer.kind, "rmsprop");
  EXPECT_EQ(c.batch.size, 128);
  EXPECT_EQ(std::get<int64_t>(get_config_value(c, "batch.size")), 128);
}

TEST(TrainConfigTest, OverridesParseTomlValuesAndBareWords) {
  TrainConfig c;
  apply_override(c, "optimizer.lr=0.05");
  apply_override(c, "optimizer.kind=adamw");
  apply_override(c, "schedule.milestones=[2, 4]");
  apply_override(c, "output.progress=false");
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.05);
  EXPECT_EQ(c.optimizer.kind, "adamw");
  EXPECT_EQ(c.schedule.milestones, (std::vector<int64_t>{2, 4}));
  EXPECT_FALSE(c.output.progress);
}

TEST(TrainConfigTest, EveryRegisteredKeyReadsBack) {
  TrainConfig c;
  for (const auto& key : config_keys()) EXPECT_NO_THROW(get_config_value(c, key)) << key;
  EXPECT_GT(config_keys().size(), 50u);
}

// Malformed input: each must throw InvalidArgument whose message contains every fragment.
TEST(TrainConfigTest, MalformedInputIsNamed) {
  struct Case {
    std::string name;
    std::function<void()> run;
    std::vector<std::string> fragments;
  };
  auto parse = [](const std::string& text) { return parse_train_config(text, "bad.toml"); };
  auto validated = [](const std::string& override) {
    TrainConfig c;
    apply_override(c, override);
    validate(c);
  };
  const std::vector<Case> cases = {
      {"unknown key",
       [&] { parse("[optimizer]\nlearning_rate = 0.1\n"); },
       {"optimizer.learning_rate", "optimizer.lr", "bad.toml"}},
      {"wrong type",
       [&] { parse("[train]\nepochs = \"ten\"\n"); },
       {"train.epochs", "\"ten\"", "integer", "[train]", "bad.toml"}},
      {"fractional int", [&] { parse("[batch]\nsize = 32.5\n"); }, {"batch.size", "32.5"}},
      {"not toml", [&] { parse("[train\nepochs = 3\n"); }, {"bad.toml:1", "not valid TOML"}},
      {"list of strings", [&] { parse("[model]\nhidden = [\"a\"]\n"); }, {"model.hidden"}},
      {"lr zero", [&] { validated("optimizer.lr=0"); }, {"optimizer.lr", "> 0"}},
      {"lr negative", [&] { validated("optimizer.lr=-0.1"); }, {"optimizer.lr", "-0.1"}},
      {"batch zero", [&] { validated("batch.size=0"); }, {"batch.size = 0", ">= 1"}},
      {"epochs zero", [&] { validated("train.epochs=0"); }, {"train.epochs"}},
      {"warmup too long",
       [&] { validated("schedule.warmup=10"); },
       {"schedule.warmup = 10", "shorter than training"}},
      {"unknown optimizer",
       [&] { validated("optimizer.kind=lion"); },
       {"optimizer.kind", "lion", "sgd, adam"}},
      {"unknown schedule", [&] { validated("schedule.kind=zigzag"); }, {"schedule.kind"}},
      {"dropout one", [&] { validated("model.dropout=1.0"); }, {"model.dropout", "[0, 1)"}},
      {"nesterov without momentum",
       [&] { validated("optimizer.nesterov=true"); },
       {"optimizer.nesterov", "momentum"}},
      {"unknown table key", [&] { validated("trainer.epochs=3"); }, {"trainer.epochs", "tables"}},
      {"override syntax", [&] { validated("optimizer.lr"); }, {"--set", "table.key=value"}},
      {"negative seed", [&] { validated("train.seed=-1"); }, {"train.seed", ">= 0"}},
      // Issue 22, defect 1: no upper bound let huge values hang creating threads / looping.
      {"threads huge",
       [&] { validated("train.threads=100000"); },
       {"train.threads = 100000", "<= 1024"}},
      {"lr_find steps huge",
       [&] { validated("lr_find.steps=1000000000"); },
       {"lr_find.steps = 1000000000", "<= 100000"}},
      {"idx without files", [&] { validated("data.source=idx"); }, {"data.train_images"}},
      {"monitor", [&] { validated("train.monitor=accuracy"); }, {"train.monitor", "val_accuracy"}},
      {"sequential without phases",
       [&] { validated("schedule.kind=sequential"); },
       {"schedule.phases", "at least two"}},
      {"sequential unknown phase",
       [&] {
         TrainConfig c = parse(
             "[schedule]\nkind = \"sequential\"\nphases = [\"constant\", \"zigzag\"]\n"
             "switch_at = [3]\n");
         validate(c);
       },
       {"schedule.phases", "zigzag", "cosine"}},
      {"sequential nested",
       [&] {
         TrainConfig c = parse(
             "[schedule]\nkind = \"sequential\"\nphases = [\"constant\", \"plateau\"]\n"
             "switch_at = [3]\n");
         validate(c);
       },
       {"schedule.phases", "plateau"}},
      {"switch_at count",
       [&] {
         TrainConfig c =
             parse("[schedule]\nkind = \"sequential\"\nphases = [\"constant\", \"cosine\"]\n");
         validate(c);
       },
       {"schedule.switch_at = []", "one entry fewer"}},
      {"switch_at after the end",
       [&] {
         TrainConfig c = parse(
             "[schedule]\nkind = \"sequential\"\nphases = [\"constant\", \"cosine\"]\n"
             "switch_at = [12]\n");
         validate(c);
       },
       {"schedule.switch_at = [12]", "train.epochs = 10"}},
      {"switch_at in warm-up",
       [&] {
         TrainConfig c = parse(
             "[schedule]\nkind = \"sequential\"\nphases = [\"constant\", \"cosine\"]\n"
             "switch_at = [2]\nwarmup = 3\n");
         validate(c);
       },
       {"schedule.switch_at = [2]", "after the warm-up"}},
      {"phases without sequential",
       [&] { validated("schedule.phases=[\"constant\", \"cosine\"]"); },
       {"schedule.phases", "only when"}},
      {"mixed list", [&] { parse("[schedule]\nphases = [\"a\", 1]\n"); }, {"schedule.phases"}},
      {"lr find start", [&] { validated("lr_find.start=0"); }, {"lr_find.start", "> 0"}},
      {"lr find empty range",
       [&] { validated("lr_find.end=1e-8"); },
       {"lr_find.end = 1e-08", "> lr_find.start (1e-07)"}},
      {"lr find few steps", [&] { validated("lr_find.steps=5"); }, {"lr_find.steps = 5", ">= 10"}},
      {"lr find mode", [&] { validated("lr_find.mode=log"); }, {"lr_find.mode", "exp, linear"}},
      {"lr find beta", [&] { validated("lr_find.beta=1"); }, {"lr_find.beta", "[0, 1)"}},
      {"lr find factor zero",
       [&] { validated("lr_find.factor=0"); },
       {"lr_find.factor", "(0, 10000]"}},
      {"lr find factor huge",
       [&] { validated("lr_find.factor=1e5"); },
       {"lr_find.factor = 1e+05", "(0, 10000]"}},
      {"lr find factor nan", [&] { validated("lr_find.factor=nan"); }, {"lr_find.factor", "nan"}},
      {"lr find suggestion",
       [&] { validated("lr_find.suggestion=best"); },
       {"lr_find.suggestion", "valley"}},
      {"lr word", [&] { validated("optimizer.lr=fast"); }, {"optimizer.lr", "\"find\""}},
      {"batch size word", [&] { validated("batch.size=auto"); }, {"batch.size", "\"find\""}},
      {"batch find zero budget",
       [&] { validated("batch_find.memory_budget=0"); },
       {"batch_find.memory_budget = 0", "MiB > 0"}},
      {"batch find negative budget",
       [&] { validated("batch_find.memory_budget=-5"); },
       {"batch_find.memory_budget = -5", "> 0"}},
      {"batch find start above cap",
       [&] {
         validated("batch_find.max_size=64");
         TrainConfig c;
         apply_override(c, "batch_find.max_size=64");
         apply_override(c, "batch_find.start=128");
         validate(c);
       },
       {"batch_find.start = 128", "at most batch_find.max_size (64)"}},
      {"batch find start", [&] { validated("batch_find.start=0"); }, {"batch_find.start = 0"}},
      {"batch find cap", [&] { validated("batch_find.max_size=-1"); }, {"batch_find.max_size"}},
      {"batch find steps", [&] { validated("batch_find.steps=0"); }, {"batch_find.steps = 0"}},
      {"batch find noise batches",
       [&] { validated("batch_find.noise_batches=0"); },
       {"batch_find.noise_batches = 0"}},
      {"checkpoint every", [&] { validated("checkpoint.every=0"); }, {"checkpoint.every", ">= 1"}},
      {"resume without path",
       [&] { validated("checkpoint.resume=true"); },
       {"checkpoint.resume", "checkpoint.path"}},
      {"unknown loss",
       [&] { validated("train.loss=\"hinge\""); },
       {"train.loss = \"hinge\"", "cross_entropy, bce_with_logits, mse, l1, smooth_l1"}},
      {"objective outside the task",
       [&] {
         TrainConfig c;
         apply_override(c, "train.loss=\"mse\"");
         apply_override(c, "train.objective=\"val_accuracy\"");
         validate(c);
       },
       {"train.objective = \"val_accuracy\"", "train.loss = \"mse\"", "val_rmse, val_mae"}},
      {"monitor outside the task",
       [&] { validated("train.monitor=\"val_r2\""); },
       {"train.monitor = \"val_r2\"", "cross_entropy", "val_accuracy"}},
      {"unknown metric",
       [&] { validated("train.objective=\"f1\""); },
       {"train.objective = \"f1\""}},
      {"device",
       [&] { validated("train.device=\"gpu\""); },
       {"train.device = \"gpu\"", "cpu, cuda or cuda:N"}},
      {"device number",
       [&] { validated("train.device=\"cuda:x\""); },
       {"train.device = \"cuda:x\""}},
      {"torchscript without a file",
       [&] { validated("model.kind=\"torchscript\""); },
       {"model.path", "TorchScript file"}},
      {"reinit of a built-in model",
       [&] { validated("model.reinit=true"); },
       {"model.reinit = true", "torchscript"}},
      {"npy without inputs", [&] { validated("data.source=\"npy\""); }, {"data.train_x", "NPY"}},
      {"piecewise without lrs",
       [&] { validated("schedule.kind=piecewise"); },
       {"schedule.lrs = []", "at least one learning rate"}},
      {"piecewise lr zero",
       [&] {
         TrainConfig c = parse("[schedule]\nkind = \"piecewise\"\nlrs = [0.1, 0.0]\n");
         validate(c);
       },
       {"schedule.lrs = [0.1, 0.0]", "finite learning rates > 0", "schedule.lrs[1] = 0"}},
      {"piecewise lr negative",
       [&] {
         TrainConfig c = parse("[schedule]\nkind = \"piecewise\"\nlrs = [-0.5]\n");
         validate(c);
       },
       {"schedule.lrs = [-0.5]", "> 0"}},
      {"piecewise lr infinite",
       [&] {
         TrainConfig c = parse("[schedule]\nkind = \"piecewise\"\nlrs = [0.1, inf]\n");
         validate(c);
       },
       {"schedule.lrs", "finite", "schedule.lrs[1]"}},
      {"piecewise per step",
       [&] {
         TrainConfig c = parse("[schedule]\nkind = \"piecewise\"\nlrs = [0.1]\nper = \"step\"\n");
         validate(c);
       },
       {"schedule.per = \"step\"", "piecewise"}},
      {"lrs without piecewise",
       [&] { validated("schedule.lrs=[0.1]"); },
       {"schedule.lrs = [0.1]", "only when schedule.kind is \"piecewise\""}},
      {"lrs not numbers",
       [&] { parse("[schedule]\nlrs = [\"fast\"]\n"); },
       {"schedule.lrs", "list of numbers"}},
      {"npy test inputs without labels",
       [&] {
         TrainConfig c;
         for (const char* o : {"data.source=\"npy\"", "data.train_x=\"x.npy\"",
                               "data.train_y=\"y.npy\"", "data.test_x=\"tx.npy\""}) {
           apply_override(c, o);
         }
         validate(c);
       },
       {"data.test_y", "data.test_x is set"}},
  };
  for (const auto& c : cases) {
    try {
      c.run();
      ADD_FAILURE() << c.name << ": no error";
    } catch (const InvalidArgument& e) {
      for (const auto& fragment : c.fragments) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << c.name << ": '" << fragment << "' not in: " << e.what();
      }
    }
  }
}

TEST(TrainConfigTest, MissingFileIsNamed) {
  try {
    load_train_config("/nonexistent/knob.toml");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/knob.toml"), std::string::npos);
  }
}

}  // namespace
}  // namespace knob
