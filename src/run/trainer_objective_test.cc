#include "knob/run/trainer_objective.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob::run {
namespace {

TEST(TomlTextTest, WritesEachValueKindAsTomlReadsIt) {
  struct Row {
    const char* name;
    ParamValue value;
    std::string text;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Row> rows = {
      {"float", 3.0, "3.0"},
      {"small float", 1e-05, "1e-05"},
      {"shortest round trip", 0.1, "0.1"},
      {"nan", std::nan(""), "nan"},
      {"inf", inf, "inf"},
      {"-inf", -inf, "-inf"},
      {"int", int64_t{-42}, "-42"},
      {"true", true, "true"},
      {"false", false, "false"},
      {"plain string", std::string("adam"), "\"adam\""},
      {"quote and backslash", std::string("a\"b\\c"), "\"a\\\"b\\\\c\""},
      {"control characters", std::string("x\ny\x7f"), "\"x\\u000Ay\\u007F\""},
      {"UTF-8", std::string("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\""},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(toml_text("p", row.value), row.text) << row.name;
  }
}

TEST(TomlTextTest, RefusesAMissingValueNamingTheSearchKey) {
  knob::testing::expect_invalid("None", [] { toml_text("optimizer.lr", ParamValue{}); },
                                {"search.optimizer.lr", "TOML has no null"});
}

TEST(TrainerObjectiveTest, TrialLogDirIsOnePerTrialUnderTheDirectory) {
  EXPECT_EQ(trial_log_dir("", 3), "");
  EXPECT_EQ(trial_log_dir("runs", 3), "runs/trial-3");
  EXPECT_EQ(trial_log_dir("/tmp/tb/", 12), "/tmp/tb/trial-12");
}

TEST(TrainerObjectiveTest, HistoryHasOneListPerMetricAndGrowsPerEpoch) {
  Json history = empty_history();
  for (const char* key :
       {"val_accuracy", "val_loss", "train_loss", "lr", "batch_size", "seconds"}) {
    ASSERT_TRUE(history.contains(key)) << key;
    EXPECT_TRUE(history[key].empty()) << key;
  }
  EpochMetrics m;
  m.epoch = 0;
  m.val_accuracy = 0.5;
  m.val_loss = 1.25;
  m.train_loss = 1.5;
  m.lr = 0.01;
  m.batch_size = 64;
  m.seconds = 2.0;
  record_epoch(history, m);
  m.val_accuracy = 0.75;
  m.batch_size = 128;
  record_epoch(history, m);
  EXPECT_EQ(history["val_accuracy"], Json::array({0.5, 0.75}));
  EXPECT_EQ(history["val_loss"], Json::array({1.25, 1.25}));
  EXPECT_EQ(history["train_loss"], Json::array({1.5, 1.5}));
  EXPECT_EQ(history["lr"], Json::array({0.01, 0.01}));
  EXPECT_EQ(history["batch_size"], Json::array({64, 128}));
  EXPECT_EQ(history["seconds"], Json::array({2.0, 2.0}));
}

TEST(TrainerObjectiveTest, CheckTensorboardDirCreatesItOrNamesTheFlag) {
  knob::testing::TempDir dir;
  check_tensorboard_dir("");  // nothing to do
  const std::string nested = dir.file("a/b/c");
  check_tensorboard_dir(nested);
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  const std::string file = dir.file("plain-file");
  std::ofstream(file) << "x";
  knob::testing::expect_invalid(
      "a file", [&] { check_tensorboard_dir(file); },
      {"--tensorboard", "plain-file", "must be a directory knob can create"});
  knob::testing::expect_invalid("under a file", [&] { check_tensorboard_dir(file + "/sub"); },
                                {"--tensorboard"});
}

TEST(TrainerObjectiveTest, InProcessObjectiveChecksTheTensorboardDirWhenMade) {
  knob::testing::TempDir dir;
  const std::string file = dir.file("f");
  std::ofstream(file) << "x";
  knob::testing::expect_invalid("tensorboard is a file",
                                [&] { make_trainer_objective(TrainConfig{}, {}, file); },
                                {"--tensorboard"});
}

TEST(TrainerObjectiveTest, IsolatedTrialRunsKnobTrainWithTheSuggestionsAsTomlOverrides) {
  std::vector<SearchParam> space = {
      {"optimizer.lr", FloatDistribution(1e-4, 1e-1, /*log=*/true)},
      {"optimizer.kind", CategoricalDistribution({std::string("sgd"), std::string("adam")})}};
  CommandObjective objective =
      make_isolated_trainer_objective(space, IsolatedTrainerOptions()
                                                 .executable("/opt/knob/bin/knob")
                                                 .config("studies/{fm}.toml")
                                                 .overrides({"train.epochs=2"})
                                                 .threads(3)
                                                 .tensorboard("runs")
                                                 .storage_url("sqlite:///s.db"));
  const std::vector<std::string> argv =
      objective.expand({{"optimizer.lr", 0.001}, {"optimizer.kind", std::string("adam")}});
  const std::vector<std::string> expected = {"/opt/knob/bin/knob",
                                             "train",
                                             "studies/{fm}.toml",  // braces kept literally
                                             "--set",
                                             "train.epochs=2",
                                             "--set",
                                             "train.threads=3",
                                             "--set",
                                             "output.metrics=\"\"",
                                             "--set",
                                             "optimizer.lr=0.001",
                                             "--set",
                                             "optimizer.kind=\"adam\"",
                                             "--tensorboard",
                                             "runs",
                                             "--quiet",
                                             "--protocol"};
  EXPECT_EQ(argv, expected);
}

TEST(TrainerObjectiveTest, IsolatedTrialKeepsTheConfigsThreadsAndWritesNoTensorboardByDefault) {
  std::vector<SearchParam> space = {{"batch.size", IntDistribution(16, 64)}};
  CommandObjective objective =
      make_isolated_trainer_objective(space, IsolatedTrainerOptions().config("c.toml"));
  const std::vector<std::string> argv = objective.expand({{"batch.size", int64_t{32}}});
  EXPECT_EQ(argv.front(), "/proc/self/exe");
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--tensorboard"), 0);
  for (const auto& arg : argv) EXPECT_EQ(arg.find("train.threads"), std::string::npos) << arg;
  EXPECT_NE(std::find(argv.begin(), argv.end(), "batch.size=32"), argv.end());
}

TEST(TrainerObjectiveTest, ConstraintsComeFromTheMetricsAttribute) {
  auto func = make_metric_constraints_func({parse_metric_constraint("train_seconds <= 300", "c"),
                                            parse_metric_constraint("val_accuracy >= 0.8", "c")});
  FrozenTrial t;
  t.user_attrs[kMetricsAttr] = Json{{"val_accuracy", 0.85}, {"train_seconds", 320.0}};
  const std::vector<double> values = func(t);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_DOUBLE_EQ(values[0], 20.0);     // 20 s over: infeasible
  EXPECT_NEAR(values[1], -0.05, 1e-12);  // holds (0.8 - 0.85 is not -0.05 to the last bit)
  FrozenTrial pruned;                    // no metrics: every constraint broken
  EXPECT_EQ(func(pruned), std::vector<double>(2, std::numeric_limits<double>::infinity()));
}

TEST(TrainerObjectiveTest, ReportsOnlyASinglePerEpochObjective) {
  struct Case {
    std::vector<std::string> objectives;
    std::optional<std::string> reported;
  };
  const std::vector<Case> cases = {
      {{"val_accuracy"}, "val_accuracy"},
      {{"val_loss"}, "val_loss"},
      {{"train_seconds"}, std::nullopt},  // known at the end only
      {{"latency_ms"}, std::nullopt},
      {{"val_accuracy", "train_seconds"}, std::nullopt},  // Optuna refuses reports here
      {{"val_loss", "val_accuracy"}, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(reported_metric(c.objectives), c.reported) << c.objectives.front();
  }
  knob::testing::expect_invalid("unknown objective", [] { reported_metric({"f1"}); },
                                {"objectives", "f1", "val_accuracy"});
  knob::testing::expect_invalid(
      "unknown isolated objective",
      [] { make_isolated_trainer_objective({}, IsolatedTrainerOptions().objectives({"val_acc"})); },
      {"objectives", "val_acc", "train_seconds"});
}

}  // namespace
}  // namespace knob::run
