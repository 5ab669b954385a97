// The range test's sweep, smoothing and suggestions on curves whose answers are computed by
// hand from the definitions (fastai's valley / steep / minimum).
#include "knob/train/lr_range.h"

#include <gtest/gtest.h>

#include <cmath>

namespace knob {
namespace {

TEST(LrRangeTest, ExponentialSweepIsGeometricFromStartToEnd) {
  LrFindConfig c;  // 1e-7 .. 10 over 100 steps
  std::vector<double> lrs = sweep_learning_rates(c);
  ASSERT_EQ(lrs.size(), 100u);
  EXPECT_DOUBLE_EQ(lrs.front(), 1e-7);
  EXPECT_NEAR(lrs.back(), 10.0, 1e-12);
  const double ratio = std::pow(1e8, 1.0 / 99);
  for (size_t i = 1; i < lrs.size(); ++i) EXPECT_NEAR(lrs[i] / lrs[i - 1], ratio, 1e-9) << i;
  c.mode = "linear";
  c.start = 0.1;
  c.end = 1.0;
  c.steps = 10;
  lrs = sweep_learning_rates(c);
  EXPECT_DOUBLE_EQ(lrs[0], 0.1);
  EXPECT_DOUBLE_EQ(lrs[9], 1.0);
  EXPECT_NEAR(lrs[3] - lrs[2], 0.1, 1e-12);
}

TEST(LrRangeTest, SmootherIsBiasCorrected) {
  LrSmoother s(0.98);
  EXPECT_DOUBLE_EQ(s.add(5.0), 5.0);  // not 0.02 x 5
  EXPECT_NEAR(s.add(5.0), 5.0, 1e-12);
  LrSmoother t(0.5);
  t.add(1.0);
  // (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25) = 1.75 / 0.75
  EXPECT_NEAR(t.add(3.0), 1.75 / 0.75, 1e-12);
}

// A curve that falls steepest between points 40 and 41, is lowest at 60, then rises.
std::vector<double> v_curve() {
  std::vector<double> loss;
  for (int i = 0; i < 100; ++i) {
    loss.push_back(i <= 60 ? 2.0 - std::tanh((i - 40.5) / 5.0)
                           : 2.0 - std::tanh(19.5 / 5.0) + 0.05 * (i - 60));
  }
  return loss;
}

TEST(LrRangeTest, SuggestionsFollowTheirDefinitions) {
  LrFindConfig c;
  std::vector<double> lrs = sweep_learning_rates(c);
  std::vector<LrSuggestion> s = suggest_learning_rates(lrs, v_curve(), 100);
  ASSERT_EQ(s.size(), 3u);
  // Valley: points 10..94 are used; the longest fall is 10..60 (51 points), and fastai's
  // bookkeeping puts its start one before: -1 + int(51/3) + int(17/2) = 24 -> point 34.
  EXPECT_EQ(s[0].name, "valley");
  EXPECT_EQ(s[0].index, 34);
  EXPECT_DOUBLE_EQ(s[0].lr, lrs[34]);
  EXPECT_EQ(s[1].name, "steepest");
  EXPECT_EQ(s[1].index, 40);
  EXPECT_DOUBLE_EQ(s[1].lr, lrs[40]);
  EXPECT_EQ(s[2].name, "minimum");
  EXPECT_EQ(s[2].index, 60);
  EXPECT_DOUBLE_EQ(s[2].lr, lrs[60] / 10);
}

TEST(LrRangeTest, ShortCurvesHaveNoSuggestion) {
  LrFindConfig c;
  std::vector<double> lrs = sweep_learning_rates(c);
  std::vector<double> loss = v_curve();
  lrs.resize(16);  // stopped early: points 10..10 after slicing off [0, 10) and the last 5
  loss.resize(16);
  EXPECT_TRUE(suggest_learning_rates(lrs, loss, 100).empty());
  lrs.resize(17);
  loss = v_curve();
  loss.resize(17);
  EXPECT_EQ(suggest_learning_rates(lrs, loss, 100).size(), 3u);
}

}  // namespace
}  // namespace knob
