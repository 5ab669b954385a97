// ThresholdPruner against hand-worked cases (bounds, NaN, warm-up, interval) and its malformed
// options.
#include "knob/tuner/pruners/threshold_pruner.h"

#include <gtest/gtest.h>

#include <limits>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ThresholdPruner, DecisionsMatchHandWorkedCases) {
  struct Case {
    const char* name;
    ThresholdPrunerOptions options;
    testing::Curve current;
    bool expected;
  };
  const auto both = ThresholdPrunerOptions().lower(0.0).upper(1.0);
  const std::vector<Case> cases = {
      {"inside", both, {{0, 0.5}}, false},
      {"on the lower bound", both, {{0, 0.0}}, false},
      {"on the upper bound", both, {{0, 1.0}}, false},
      {"below", both, {{0, -0.1}}, true},
      {"above", both, {{0, 1.1}}, true},
      {"only the last value counts", both, {{0, 5.0}, {1, 0.5}}, false},
      {"NaN prunes", both, {{0, kNan}}, true},
      {"+inf above", both, {{0, kInf}}, true},
      {"upper only", ThresholdPrunerOptions().upper(1.0), {{0, -1e300}}, false},
      {"lower only", ThresholdPrunerOptions().lower(0.0), {{0, 1e300}}, false},
      {"lower only, below", ThresholdPrunerOptions().lower(0.0), {{0, -kInf}}, true},
      {"lower == upper", ThresholdPrunerOptions().lower(2.0).upper(2.0), {{0, 2.0}}, false},
      {"warm-up: step 1 < 2", ThresholdPrunerOptions(both).n_warmup_steps(2), {{1, 9.0}}, false},
      {"warm-up over", ThresholdPrunerOptions(both).n_warmup_steps(2), {{2, 9.0}}, true},
      {"interval 2: step 1 after 0 not judged",
       ThresholdPrunerOptions(both).interval_steps(2),
       {{0, 0.5}, {1, 9.0}},
       false},
      {"interval 2: step 2 judged",
       ThresholdPrunerOptions(both).interval_steps(2),
       {{0, 0.5}, {1, 0.5}, {2, 9.0}},
       true},
      {"interval 2: reports 0, 3 judge 3",
       ThresholdPrunerOptions(both).interval_steps(2),
       {{0, 0.5}, {3, 9.0}},
       true},
      {"no reports", both, {}, false},
  };
  Study study = testing::pruner_study(StudyDirection::kMinimize);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FrozenTrial trial;
    trial.intermediate_values = c.current;
    EXPECT_EQ(ThresholdPruner(c.options).prune(study, trial), c.expected);
  }
}

TEST(ThresholdPruner, BadOptionsThrowNamingTheField) {
  struct Case {
    ThresholdPrunerOptions options;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {ThresholdPrunerOptions(), {"lower = \"(unset)\"", "set lower, upper or both"}},
      {ThresholdPrunerOptions().lower(kNan), {"lower = nan", "a number or unset"}},
      {ThresholdPrunerOptions().upper(kNan), {"upper = nan", "a number or unset"}},
      {ThresholdPrunerOptions().lower(2.0).upper(1.0), {"lower = 2", "<= upper (1)"}},
      {ThresholdPrunerOptions().upper(1.0).n_warmup_steps(-1), {"n_warmup_steps = -1", ">= 0"}},
      {ThresholdPrunerOptions().upper(1.0).interval_steps(0), {"interval_steps = 0", ">= 1"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid([&] { ThresholdPruner pruner(c.options); }, c.expected);
  }
}

}  // namespace
}  // namespace knob
