// PBT's policy (pbt_policy.h), seeded: the quantile split, initial draws within range and grid,
// perturbation of float, integer and categorical knobs (Ray Tune's neighbour rule for lists),
// resampling, the decisions' seeds, and malformed knobs in their own table.
#include "knob/train/pbt_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

const MutableKnob kLr{"optimizer.lr", 1e-4, 0.1, true};
const MutableKnob kMomentum{"optimizer.momentum", 0.0, 0.9, false, KnobKind::kFloat, 0.1};
const MutableKnob kBatch{"batch.size", 16, 256, true, KnobKind::kInt};
const MutableKnob kBatchGrid{"batch.size", 16, 256, false, KnobKind::kInt, 16};
const MutableKnob kHidden{"model.hidden", 1, 8, false, KnobKind::kInt};
const MutableKnob kKind{
    "optimizer.kind", 0, 0, false, KnobKind::kCategorical, 0, {"sgd", "adam", "adamw", "rmsprop"}};

TEST(PbtPolicyTest, SplitQuantilesTakesCeilOfTheFractionAtMostHalf) {
  struct Case {
    std::vector<double> scores;
    double fraction;
    std::vector<int64_t> bottom, top;
  };
  const std::vector<Case> cases = {
      {{0.1, 0.9, 0.5, 0.3}, 0.25, {0}, {1}},
      {{0.1, 0.9, 0.5, 0.3}, 0.5, {0, 3}, {2, 1}},
      {{0.5, 0.5, 0.5}, 0.25, {2}, {0}},  // ties: the lower index is the better
      {{NAN, 0.2, 0.1}, 0.25, {0}, {1}},  // NaN is worst
      {{0.1, 0.2}, 0.0, {}, {}},
      {{0.3}, 0.5, {}, {}},
  };
  for (const auto& c : cases) {
    auto [bottom, top] = split_quantiles(c.scores, c.fraction);
    EXPECT_EQ(bottom, c.bottom) << c.scores.size() << " " << c.fraction;
    EXPECT_EQ(top, c.top) << c.scores.size() << " " << c.fraction;
  }
}

// Draws stay in the range, on the grid, of the knob's type; each choice comes up.
TEST(PbtPolicyTest, SamplesStayInTheRangeOnTheGrid) {
  for (const MutableKnob& k : {kLr, kMomentum, kBatch, kBatchGrid, kHidden, kKind}) {
    Rng rng(11);
    std::set<std::string> seen;
    for (int i = 0; i < 400; ++i) {
      const ParamValue v = sample_knob(k, rng);
      seen.insert(to_string(v));
      if (k.kind == KnobKind::kCategorical) {
        EXPECT_NE(std::find(k.choices.begin(), k.choices.end(), v), k.choices.end());
        continue;
      }
      ASSERT_EQ(std::holds_alternative<int64_t>(v), k.kind == KnobKind::kInt) << k.key;
      const double x = as_double(v);
      EXPECT_GE(x, k.low) << k.key;
      EXPECT_LE(x, k.high) << k.key;
      const double step = k.kind == KnobKind::kInt && k.step == 0 ? 1 : k.step;
      if (step > 0) {
        const double units = (x - k.low) / step;
        EXPECT_NEAR(units, std::round(units), 1e-9) << k.key << " " << x;
      }
    }
    if (k.kind == KnobKind::kCategorical) {
      EXPECT_EQ(seen.size(), k.choices.size());
    }
    if (k.key == "model.hidden") {
      EXPECT_EQ(seen.size(), 8u);  // 1..8, both ends included
    }
  }
  // Log-uniform: an integer range over decades puts as many draws below 64 as above.
  Rng rng(5);
  int below = 0;
  for (int i = 0; i < 2000; ++i) below += std::get<int64_t>(sample_knob(kBatch, rng)) < 64;
  EXPECT_NEAR(below / 2000.0, 0.5, 0.05);
}

// One factor and no resampling make a numeric perturbation exact.
TEST(PbtPolicyTest, PerturbsNumbersByTheFactorRoundedAndClipped) {
  struct Case {
    std::string name;
    MutableKnob knob;
    ParamValue from;
    double factor;
    ParamValue expected;
  };
  const std::vector<Case> cases = {
      {"float up", kLr, 0.01, 1.2, 0.012},
      {"float down", kLr, 0.01, 0.8, 0.008},
      {"float clipped", kLr, 0.09, 1.2, 0.1},
      {"float on its grid", kMomentum, 0.5, 1.2, 0.6},
      {"int up", kBatch, int64_t{100}, 1.2, int64_t{120}},
      {"int rounded", kBatch, int64_t{33}, 1.2, int64_t{40}},  // 39.6
      {"int clipped", kBatch, int64_t{250}, 1.2, int64_t{256}},
      {"int at its top", kBatch, int64_t{256}, 1.2, int64_t{256}},
      {"int at its bottom", kBatch, int64_t{16}, 0.8, int64_t{16}},  // 12.8 -> 16
      {"small int moves a step up", kHidden, int64_t{2}, 1.2, int64_t{3}},
      {"small int moves a step down", kHidden, int64_t{2}, 0.8, int64_t{1}},
      {"int on a grid of 16", kBatchGrid, int64_t{64}, 1.2, int64_t{80}},  // 76.8
      {"int on a grid, a step", kBatchGrid, int64_t{32}, 0.8, int64_t{16}},
  };
  for (const auto& c : cases) {
    Rng rng(1);
    const ParamValue v = perturb_knob(c.knob, c.from, {c.factor}, 0.0, rng);
    ASSERT_EQ(v.index(), c.expected.index()) << c.name;
    if (std::holds_alternative<double>(v)) {
      EXPECT_NEAR(std::get<double>(v), std::get<double>(c.expected), 1e-12) << c.name;
    } else {
      EXPECT_EQ(v, c.expected) << c.name << ": " << to_string(v);
    }
  }
}

// Ray Tune's rule for lists: a neighbour, each side half the time, clipped at the ends.
TEST(PbtPolicyTest, CategoricalMovesToANeighbouringChoice) {
  struct Case {
    std::string from;
    std::set<std::string> reachable;
  };
  const std::vector<Case> cases = {
      {"sgd", {"sgd", "adam"}},  // the first: -1 is clipped to itself
      {"adam", {"sgd", "adamw"}},
      {"adamw", {"adam", "rmsprop"}},
      {"rmsprop", {"adamw", "rmsprop"}},
  };
  for (const auto& c : cases) {
    Rng rng(3);
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      seen.insert(std::get<std::string>(perturb_knob(kKind, c.from, {1.2, 0.8}, 0.0, rng)));
    }
    EXPECT_EQ(seen, c.reachable) << c.from;
  }
  // A value that is not a choice is redrawn from the choices.
  Rng rng(4);
  const ParamValue v = perturb_knob(kKind, std::string("lion"), {1.2}, 0.0, rng);
  EXPECT_NE(std::find(kKind.choices.begin(), kKind.choices.end(), v), kKind.choices.end());
}

// resample_probability 1 redraws every kind: all choices come up, numbers leave the factors'
// two values; 0.5 redraws about half the time.
TEST(PbtPolicyTest, ResamplesWithItsProbability) {
  Rng rng(9);
  std::set<std::string> kinds;
  std::set<int64_t> batches;
  for (int i = 0; i < 300; ++i) {
    kinds.insert(std::get<std::string>(perturb_knob(kKind, std::string("sgd"), {1.2}, 1.0, rng)));
    batches.insert(std::get<int64_t>(perturb_knob(kBatch, int64_t{100}, {1.2}, 1.0, rng)));
  }
  EXPECT_EQ(kinds.size(), 4u);
  EXPECT_GT(batches.size(), 50u);
  int moved_far = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto b = std::get<int64_t>(perturb_knob(kBatch, int64_t{100}, {1.2}, 0.5, rng));
    moved_far += b != 120;
  }
  EXPECT_NEAR(moved_far / 2000.0, 0.5, 0.05);
}

TEST(PbtPolicyTest, ExploreKnobsPerturbsEveryKnobAndKeepsOthers) {
  const std::vector<MutableKnob> knobs = {kLr, kBatch, kKind};
  const KnobValues from = {{"optimizer.lr", 0.01},
                           {"batch.size", int64_t{100}},
                           {"optimizer.kind", std::string("adam")},
                           {"model.dropout", 0.25}};
  Rng a(21), b(21);
  const KnobValues x = explore_knobs(knobs, from, {1.2, 0.8}, 0.0, a);
  const KnobValues y = explore_knobs(knobs, from, {1.2, 0.8}, 0.0, b);
  EXPECT_EQ(x, y);  // seeded
  EXPECT_EQ(x.at("model.dropout"), ParamValue(0.25));
  const double lr = std::get<double>(x.at("optimizer.lr"));
  EXPECT_TRUE(std::abs(lr - 0.012) < 1e-12 || std::abs(lr - 0.008) < 1e-12) << lr;
  const int64_t batch = std::get<int64_t>(x.at("batch.size"));
  EXPECT_TRUE(batch == 120 || batch == 80) << batch;
  const std::string kind = std::get<std::string>(x.at("optimizer.kind"));
  EXPECT_TRUE(kind == "sgd" || kind == "adamw") << kind;
  // A knob missing from the values is drawn.
  Rng c(1);
  EXPECT_EQ(explore_knobs({kBatch}, {}, {1.2}, 0.0, c).count("batch.size"), 1u);
}

TEST(PbtPolicyTest, DecisionsDependOnlyOnScoresSeedGenerationAndMember) {
  const std::vector<double> scores = {0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4};
  std::set<uint64_t> seeds;
  for (int64_t g = 0; g < 4; ++g) {
    for (int64_t m = 0; m < 8; ++m) seeds.insert(pbt_seed(7, g, m));
  }
  EXPECT_EQ(seeds.size(), 32u);  // every (generation, member) its own stream
  EXPECT_EQ(pbt_seed(7, 2, 3), pbt_seed(7, 2, 3));
  EXPECT_NE(pbt_seed(7, 2, 3), pbt_seed(8, 2, 3));
  std::set<int64_t> sources;
  for (int64_t g = 1; g < 40; ++g) {
    Rng a(pbt_seed(7, g, 0)), b(pbt_seed(7, g, 0));
    const int64_t source = choose_source(scores, 0, 0.25, a);  // member 0 is the worst
    EXPECT_EQ(source, choose_source(scores, 0, 0.25, b));
    EXPECT_TRUE(source == 1 || source == 6) << source;  // ceil(8 x 0.25) = 2 at the top
    sources.insert(source);
  }
  EXPECT_EQ(sources.size(), 2u);
  // A member outside the bottom keeps its own and draws nothing.
  Rng a(3), b(3);
  EXPECT_EQ(choose_source(scores, 4, 0.25, a), -1);
  EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(PbtPolicyTest, MalformedKnobsAreNamed) {
  struct Case {
    std::string name;
    MutableKnob knob;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"no key", {"", 0, 1}, {"knob", "config key"}},
      {"empty range", {"optimizer.lr", 0.1, 0.1}, {"knob", "[0.1, 0.1]", "low < high"}},
      {"infinite", {"optimizer.lr", 0.1, INFINITY}, {"knob", "finite range"}},
      {"log from zero", {"optimizer.lr", 0, 0.1, true}, {"knob", "low > 0"}},
      {"negative step", {"optimizer.lr", 0, 0.1, false, KnobKind::kFloat, -1}, {"step", ">= 0"}},
      {"log with step",
       {"optimizer.lr", 0.1, 1, true, KnobKind::kFloat, 0.1},
       {"log range takes no step"}},
      {"fractional int", {"batch.size", 1.5, 8, false, KnobKind::kInt}, {"[1.5, 8]", "integer"}},
      {"no choices", {"optimizer.kind", 0, 0, false, KnobKind::kCategorical}, {"knob", "[]"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { validate_knob(c.knob, "knob"); }, c.fragments);
  }
}

}  // namespace
}  // namespace knob
