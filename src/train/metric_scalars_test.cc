#include "knob/train/metric_scalars.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace knob {
namespace {

TEST(MetricScalarsTest, AStepLogsItsFourMetricsAtItsGlobalStep) {
  StepMetrics m;
  m.step = 1234;
  m.epoch = 3;
  m.loss = 0.625;
  m.accuracy = 0.78125;
  m.lr = 3e-4;
  m.batch_size = 96;
  const std::vector<std::pair<std::string, double>> expected = {
      {"train/loss", 0.625}, {"train/accuracy", 0.78125}, {"lr", 3e-4}, {"batch_size", 96.0}};
  const auto scalars = step_scalars(m);
  ASSERT_EQ(scalars.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(scalars[i].tag, expected[i].first);
    EXPECT_EQ(scalars[i].value, expected[i].second) << expected[i].first;
    EXPECT_EQ(scalars[i].step, 1234) << expected[i].first;
  }
}

TEST(MetricScalarsTest, AnEpochLogsAtTheStepItEndedNotItsNumber) {
  EpochMetrics m;
  m.epoch = 1;
  m.step = 750;
  m.train_loss = 0.5;
  m.val_loss = 0.5625;
  m.val_accuracy = 0.875;
  m.lr = 0.1;  // per step already: not an epoch scalar
  m.batch_size = 64;
  const std::vector<std::pair<std::string, double>> expected = {
      {"epoch/train_loss", 0.5}, {"val/loss", 0.5625}, {"val/accuracy", 0.875}};
  const auto scalars = epoch_scalars(m);
  ASSERT_EQ(scalars.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(scalars[i].tag, expected[i].first);
    EXPECT_EQ(scalars[i].value, expected[i].second) << expected[i].first;
    EXPECT_EQ(scalars[i].step, 750) << expected[i].first;
  }
}

// Step and epoch scalars share one step axis: a tag in both would get two values at the step
// an epoch ends.
TEST(MetricScalarsTest, StepAndEpochTagsAreDistinct) {
  std::set<std::string_view> tags;
  for (const MetricScalar& s : step_scalars(StepMetrics{})) EXPECT_TRUE(tags.insert(s.tag).second);
  for (const MetricScalar& s : epoch_scalars(EpochMetrics{}))
    EXPECT_TRUE(tags.insert(s.tag).second);
  EXPECT_EQ(tags.size(), 7u);
}

}  // namespace
}  // namespace knob
