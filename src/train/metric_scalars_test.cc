#include "knob/train/metric_scalars.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace knob {
namespace {

using Expected = std::vector<std::pair<std::string, double>>;

// `scalars` are `expected` (tag, value) in order, each at `step`.
template <size_t N>
void expect_scalars(const std::array<MetricScalar, N>& scalars, const Expected& expected,
                    int64_t step) {
  ASSERT_EQ(scalars.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(scalars[i].tag, expected[i].first);
    EXPECT_EQ(scalars[i].value, expected[i].second) << expected[i].first;
    EXPECT_EQ(scalars[i].step, step) << expected[i].first;
  }
}

TEST(MetricScalarsTest, AStepLogsItsFourMetricsAtItsGlobalStep) {
  const StepMetrics m{
      .step = 1234, .epoch = 3, .loss = 0.625, .lr = 3e-4, .batch_size = 96, .accuracy = 0.78125};
  expect_scalars(
      step_scalars(m),
      {{"train/loss", 0.625}, {"train/accuracy", 0.78125}, {"lr", 3e-4}, {"batch_size", 96.0}},
      1234);
}

TEST(MetricScalarsTest, AnEpochLogsAtTheStepItEndedNotItsNumber) {
  const EpochMetrics m{.epoch = 1,
                       .step = 750,
                       .train_loss = 0.5,
                       .val_loss = 0.5625,
                       .val_accuracy = 0.875,
                       .lr = 0.1,  // per step already: not an epoch scalar
                       .batch_size = 64};
  expect_scalars(epoch_scalars(m),
                 {{"epoch/train_loss", 0.5}, {"val/loss", 0.5625}, {"val/accuracy", 0.875}}, 750);
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
