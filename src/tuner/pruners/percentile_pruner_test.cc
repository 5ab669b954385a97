// PercentilePruner against hand-computed percentiles (MedianPruner, a PercentilePruner at 50,
// has its own table in median_pruner_test.cc), its cache of completed trials, and its
// malformed options.
#include "knob/tuner/pruners/percentile_pruner.h"

#include <gtest/gtest.h>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

using testing::Curve;

// Five completed trials reporting 1, 2, 3, 4, 5 at step 0 (and 10, 20, ... at step 1).
std::vector<Curve> five() {
  std::vector<Curve> curves;
  for (int i = 1; i <= 5; ++i) curves.push_back({{0, i * 1.0}, {1, i * 10.0}});
  return curves;
}

struct PercentileCase {
  double percentile;
  StudyDirection direction;
  Curve current;
  bool expected;  // why, as a comment
};

TEST(PercentilePruner, DecisionsMatchHandComputedPercentiles) {
  const auto kMin = StudyDirection::kMinimize;
  const auto kMax = StudyDirection::kMaximize;
  const std::vector<PercentileCase> cases = {
      {25.0, kMin, {{0, 2.1}}, true},   // 25th of 1..5 = 2
      {25.0, kMin, {{0, 2.0}}, false},  // not worse
      {10.0, kMin, {{0, 1.41}}, true},  // 1 + 0.4 = 1.4
      {10.0, kMin, {{0, 1.39}}, false},
      {0.0, kMin, {{0, 1.01}}, true},    // the best completed value
      {100.0, kMin, {{0, 5.0}}, false},  // the worst: only worse prunes
      {100.0, kMin, {{0, 5.01}}, true},
      {25.0, kMax, {{0, 3.9}}, true},  // maximize: the 75th, 4
      {25.0, kMax, {{0, 4.0}}, false},
      // Step 1 (25th of 10..50 = 20), judged on the trial's best value over its steps.
      {25.0, kMin, {{0, 1.0}, {1, 30.0}}, false},   // best 1 <= 20
      {25.0, kMin, {{0, 25.0}, {1, 21.0}}, true},   // best 21 > 20
      {25.0, kMax, {{0, 45.0}, {1, 39.0}}, false},  // maximize: best 45 >= 40 (the 75th)
      {25.0, kMax, {{0, 35.0}, {1, 39.0}}, true},   // best 39 < 40
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.percentile) + " " + std::to_string(c.current.rbegin()->second));
    Study study = testing::pruner_study(c.direction);
    for (const auto& curve : five()) testing::add_trial(study, TrialState::kComplete, curve);
    PercentilePruner pruner(PercentilePrunerOptions(c.percentile));
    FrozenTrial current;
    current.intermediate_values = c.current;
    EXPECT_EQ(pruner.prune(study, current), c.expected);
  }
}

TEST(PercentilePruner, SeesTrialsCompletedSinceTheLastCall) {
  PercentilePruner pruner(PercentilePrunerOptions(50.0).n_startup_trials(1));
  Study study = testing::pruner_study(StudyDirection::kMinimize);
  FrozenTrial current;
  current.intermediate_values = {{0, 3.0}};
  EXPECT_FALSE(pruner.prune(study, current));  // nothing completed
  testing::add_trial(study, TrialState::kComplete, {{0, 5.0}});
  EXPECT_FALSE(pruner.prune(study, current));                  // 3 < 5
  testing::add_trial(study, TrialState::kPruned, {{0, 0.0}});  // not counted
  testing::add_trial(study, TrialState::kComplete, {{0, 1.0}});
  testing::add_trial(study, TrialState::kComplete, {{0, 2.0}});
  EXPECT_TRUE(pruner.prune(study, current));  // median of 1, 2, 5 is 2
  // Another study: its own trials only.
  Study other = testing::pruner_study(StudyDirection::kMinimize);
  testing::add_trial(other, TrialState::kComplete, {{0, 4.0}});
  EXPECT_FALSE(pruner.prune(other, current));
}

TEST(PercentilePruner, BadOptionsThrowNamingTheField) {
  struct Case {
    PercentilePrunerOptions options;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {PercentilePrunerOptions(-1.0), {"percentile = -1", "in [0, 100]"}},
      {PercentilePrunerOptions(100.5), {"percentile = 100.5", "in [0, 100]"}},
      {PercentilePrunerOptions(std::nan("")), {"percentile = nan", "in [0, 100]"}},
      {PercentilePrunerOptions(50).n_startup_trials(-1), {"n_startup_trials = -1", ">= 0"}},
      {PercentilePrunerOptions(50).n_warmup_steps(-2), {"n_warmup_steps = -2", ">= 0"}},
      {PercentilePrunerOptions(50).interval_steps(0), {"interval_steps = 0", ">= 1"}},
      {PercentilePrunerOptions(50).n_min_trials(0), {"n_min_trials = 0", ">= 1"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid([&] { PercentilePruner pruner(c.options); }, c.expected);
  }
}

}  // namespace
}  // namespace knob
