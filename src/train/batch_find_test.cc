// The batch-size search on memory models whose answer is known, the noise-scale estimators on
// numbers computed by hand from McCandlish et al. (2018), Appendix A, and the recommendation.
#include "knob/train/batch_find.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "knob/core/error.h"

namespace knob {
namespace {

// A step that fits while size <= limit; records every size asked for.
struct FakeMemory {
  int64_t limit;
  std::vector<int64_t> asked;
  BatchTrial operator()(int64_t size) {
    asked.push_back(size);
    BatchTrial t;
    t.fits = size <= limit;
    t.peak_mib = static_cast<double>(size);
    return t;
  }
};

std::vector<int64_t> sizes(const std::vector<BatchTrial>& trials) {
  std::vector<int64_t> out;
  for (const auto& t : trials) out.push_back(t.size);
  return out;
}

TEST(BatchSearchTest, DoublesThenBisectsToASixteenthOfTheFittingSize) {
  FakeMemory memory{300, {}};
  auto trials = search_batch_sizes(16, 4096, std::ref(memory));
  // 16 .. 256 fit, 512 does not; then 384 no, 320 no, 288 yes, 304 no: gap 16 <= 288 / 16.
  const std::vector<int64_t> expected = {16, 32, 64, 128, 256, 512, 384, 320, 288, 304};
  EXPECT_EQ(sizes(trials), expected);
  EXPECT_EQ(memory.asked, expected);  // reported = run, in order
  EXPECT_EQ(largest_fitting(trials), 288);
}

TEST(BatchSearchTest, SmallSizesAreSearchedExactly) {
  FakeMemory memory{5, {}};
  auto trials = search_batch_sizes(1, 100, std::ref(memory));
  EXPECT_EQ(sizes(trials), (std::vector<int64_t>{1, 2, 4, 8, 6, 5}));
  EXPECT_EQ(largest_fitting(trials), 5);
}

TEST(BatchSearchTest, NeverPassesTheCapAndTriesTheCapItself) {
  FakeMemory memory{1 << 30, {}};
  auto trials = search_batch_sizes(16, 1000, std::ref(memory));
  EXPECT_EQ(sizes(trials), (std::vector<int64_t>{16, 32, 64, 128, 256, 512, 1000}));
  EXPECT_EQ(largest_fitting(trials), 1000);
  trials = search_batch_sizes(8, 8, std::ref(memory));
  EXPECT_EQ(sizes(trials), (std::vector<int64_t>{8}));
}

TEST(BatchSearchTest, AStartThatDoesNotFitIsTheOnlyTrial) {
  FakeMemory memory{10, {}};
  auto trials = search_batch_sizes(16, 4096, std::ref(memory));
  EXPECT_EQ(sizes(trials), (std::vector<int64_t>{16}));
  EXPECT_EQ(largest_fitting(trials), 0);
  EXPECT_EQ(recommend_batch_size(trials, 100).size, 0);
}

TEST(BatchSearchTest, MalformedBoundsAreNamed) {
  FakeMemory memory{10, {}};
  for (auto [start, cap] : {std::pair<int64_t, int64_t>{0, 10}, {32, 16}}) {
    try {
      search_batch_sizes(start, cap, std::ref(memory));
      ADD_FAILURE() << start << " " << cap;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("batch_find.start = " + std::to_string(start)),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_TRUE(memory.asked.empty());
}

// |G|^2 = 4, tr(Sigma) = 64: E|G_B|^2 = 4 + 64 / B, so 20 at B = 4 and 6 at B = 32.
TEST(NoiseScaleTest, RecoversGradientAndTraceFromTheirExpectations) {
  NoiseScale n = estimate_noise_scale(4, 32, {20}, {6});
  EXPECT_DOUBLE_EQ(n.gradient_sq, 4.0);  // (32 * 6 - 4 * 20) / 28
  EXPECT_DOUBLE_EQ(n.trace, 64.0);       // (20 - 6) / (1/4 - 1/32)
  EXPECT_DOUBLE_EQ(n.b_simple, 16.0);
  EXPECT_EQ(n.batches, 1);
}

TEST(NoiseScaleTest, AveragesNumeratorAndDenominatorNotTheRatio) {
  // Batches (18, 5) and (22, 7) average to (20, 6): B_simple 16. Per batch the ratios are
  // (13 * 32/7) / (88/28) = 18.909... and (15 * 32/7) / (136/28) = 14.117...; their mean
  // 16.51... is what averaging the ratio would give.
  NoiseScale n = estimate_noise_scale(4, 32, {18, 22}, {5, 7});
  EXPECT_DOUBLE_EQ(n.mean_small_sq, 20.0);
  EXPECT_DOUBLE_EQ(n.mean_big_sq, 6.0);
  EXPECT_DOUBLE_EQ(n.b_simple, 16.0);
  const double ratio_mean = ((13.0 * 32 / 7) / (88.0 / 28) + (15.0 * 32 / 7) / (136.0 / 28)) / 2;
  EXPECT_GT(std::abs(ratio_mean - n.b_simple), 0.5);
}

TEST(NoiseScaleTest, NoSignalGivesAnInfiniteNoiseScale) {
  // (32 * 1 - 4 * 10) / 28 < 0: the |G|^2 estimate is swamped by noise.
  NoiseScale n = estimate_noise_scale(4, 32, {10}, {1});
  EXPECT_LT(n.gradient_sq, 0);
  EXPECT_TRUE(std::isinf(n.b_simple));
}

TEST(NoiseScaleTest, MalformedInputIsNamed) {
  struct Case {
    int64_t small, big;
    std::vector<double> s, b;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{0, 8, {1}, {1}, "b_small = 0"},
                                         {8, 8, {1}, {1}, "b_big = 8"},
                                         {4, 8, {}, {}, "gradient norms = 0"},
                                         {4, 8, {1, 2}, {1}, "gradient norms = 2"}}) {
    try {
      estimate_noise_scale(c.small, c.big, c.s, c.b);
      ADD_FAILURE() << c.field;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << e.what();
    }
  }
}

std::vector<BatchTrial> tried(std::vector<std::pair<int64_t, bool>> list) {
  std::vector<BatchTrial> out;
  for (auto [size, fits] : list) out.push_back({size, fits, 0, 0});
  return out;
}

TEST(RecommendTest, LargestFittingSizeAtMostTheNoiseScale) {
  auto trials = tried({{16, true}, {32, true}, {64, true}, {128, false}, {96, true}, {112, false}});
  EXPECT_EQ(recommend_batch_size(trials, 70).size, 64);
  EXPECT_EQ(recommend_batch_size(trials, 64).size, 64);
  EXPECT_EQ(recommend_batch_size(trials, 1e6).size, 96);       // never an untested or unfit size
  EXPECT_EQ(recommend_batch_size(trials, INFINITY).size, 96);  // no usable estimate
  EXPECT_EQ(recommend_batch_size(trials, 3).size, 16);         // below every size: the smallest
  EXPECT_FALSE(recommend_batch_size(trials, 3).rule.empty());
}

TEST(RecommendTest, LinearScalingRule) {
  EXPECT_DOUBLE_EQ(scale_learning_rate(0.001, 32, 256), 0.008);
  EXPECT_DOUBLE_EQ(scale_learning_rate(0.1, 256, 64), 0.025);
}

}  // namespace
}  // namespace knob
