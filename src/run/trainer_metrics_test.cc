#include "knob/run/trainer_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

TEST(TrainerMetricsTest, ConstraintValuesFollowOptunasSign) {
  const std::map<std::string, double> metrics = {
      {"train_seconds", 250.0}, {"val_accuracy", 0.75}, {"params", 1000.0}};
  struct Case {
    std::string text;
    double expected;  // <= 0: feasible
  };
  const std::vector<Case> cases = {
      {"train_seconds <= 300", -50.0}, {"train_seconds<=200", 50.0},
      {"val_accuracy >= 0.5", -0.25},  {"val_accuracy >= 0.8", 0.05},
      {"params <= 1e3", 0.0},          {"  params >=  +2000 ", 1000.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto values = constraint_values({parse_metric_constraint(c.text, "c")}, metrics);
    ASSERT_EQ(values.size(), 1u);
    EXPECT_NEAR(values[0], c.expected, 1e-12);
  }
  EXPECT_THROW(constraint_values({parse_metric_constraint("latency_ms <= 1", "c")}, metrics),
               Error);
}

// A classifier's result has every metric but the regression ones; a regression's every metric
// but accuracy.
TEST(TrainerMetricsTest, EveryMetricOfAResult) {
  TrainResult r;
  r.final_val_accuracy = 0.9;
  r.final_val_loss = 0.3;
  r.seconds = 12.5;
  r.params = 101770;
  r.latency_ms = 0.04;
  r.history.push_back(EpochMetrics{});
  r.history.back().train_loss = 0.25;
  auto values = trainer_metric_values(r);
  const std::set<std::string> regression = {"val_rmse", "val_mae", "val_r2"};
  for (const auto& m : trainer_metrics()) {
    EXPECT_EQ(values.count(m.name), regression.count(m.name) ? 0u : 1u) << m.name;
  }
  EXPECT_EQ(values["params"], 101770.0);
  EXPECT_EQ(values["latency_ms"], 0.04);
  EXPECT_EQ(values["val_loss"], 0.3);
  EXPECT_EQ(values["train_loss"], 0.25);
  EXPECT_EQ(find_trainer_metric("val_accuracy", "f").better, StudyDirection::kMaximize);
  EXPECT_EQ(find_trainer_metric("train_seconds", "f").better, StudyDirection::kMinimize);
  EXPECT_EQ(find_trainer_metric("val_r2", "f").better, StudyDirection::kMaximize);
  EXPECT_EQ(find_trainer_metric("val_rmse", "f").better, StudyDirection::kMinimize);

  r.final_val_accuracy = NAN;
  r.final_validation.val_rmse = 0.5;
  r.final_validation.val_mae = 0.4;
  r.final_validation.val_r2 = 0.8;
  values = trainer_metric_values(r);
  EXPECT_EQ(values.count("val_accuracy"), 0u);
  EXPECT_EQ(values["val_rmse"], 0.5);
  EXPECT_EQ(values["val_mae"], 0.4);
  EXPECT_EQ(values["val_r2"], 0.8);
}

TEST(TrainerMetricsTest, MalformedConstraintsAreNamed) {
  struct Case {
    std::string text;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"", {"study.constraints[0] = \"\"", "METRIC <= NUMBER"}},
      {"train_seconds", {"\"train_seconds\"", "METRIC >= NUMBER"}},
      {"train_seconds = 3", {"METRIC <= NUMBER"}},
      {"train_seconds < 3", {"METRIC <= NUMBER"}},
      {"<= 3", {"\"<= 3\""}},
      {"accuracy >= 0.9", {"(metric) = \"accuracy\"", "val_accuracy"}},
      {"params <= ", {"finite number"}},
      {"params <= 1 2", {"finite number"}},
      {"params <= inf", {"finite number"}},
      {"params <= nan", {"finite number"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_metric_constraint(c.text, "study.constraints[0]");
      ADD_FAILURE() << "accepted";
    } catch (const InvalidArgument& e) {
      testing::expect_contains(e.what(), c.fragments);
    }
  }
}

}  // namespace
}  // namespace knob
