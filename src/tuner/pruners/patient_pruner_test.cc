// PatientPruner against hand-worked windows (both directions, min_delta, NaN), its wrapped
// pruner asked only when out of patience, and its malformed options.
#include "knob/tuner/pruners/patient_pruner.h"

#include <gtest/gtest.h>

#include <limits>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(PatientPruner, DecisionsMatchHandWorkedWindows) {
  struct Case {
    const char* name;
    PatientPrunerOptions options;
    StudyDirection direction;
    testing::Curve current;
    bool expected;
  };
  const auto kMin = StudyDirection::kMinimize;
  const auto kMax = StudyDirection::kMaximize;
  const std::vector<Case> cases = {
      // patience 2: the last 3 values against the ones before.
      {"too few steps", PatientPrunerOptions(2), kMin, {{0, 1.0}, {1, 2.0}, {2, 3.0}}, false},
      {"improved", PatientPrunerOptions(2), kMin, {{0, 1.0}, {1, 0.9}, {2, 1.5}, {3, 1.2}}, false},
      {"no better", PatientPrunerOptions(2), kMin, {{0, 1.0}, {1, 1.1}, {2, 1.05}, {3, 1.2}}, true},
      {"equal is not worse",
       PatientPrunerOptions(2),
       kMin,
       {{0, 1.0}, {1, 1.0}, {2, 1.1}, {3, 1.2}},
       false},
      {"best before any step",
       PatientPrunerOptions(2),
       kMin,
       {{0, 3.0}, {1, 0.5}, {2, 1.0}, {3, 1.0}, {4, 0.9}},
       true},  // 0.5 < 0.9
      // min_delta: pruned only when the window is worse than the best before by more than it.
      {"min_delta tolerates",
       PatientPrunerOptions(2).min_delta(0.1),
       kMin,
       {{0, 1.0}, {1, 1.05}, {2, 1.08}, {3, 1.09}},
       false},  // 1.1 < 1.05 is false
      {"min_delta exceeded",
       PatientPrunerOptions(2).min_delta(0.1),
       kMin,
       {{0, 1.0}, {1, 1.2}, {2, 1.15}, {3, 1.3}},
       true},  // 1.1 < 1.15
      {"patience 0: the last value only",
       PatientPrunerOptions(0),
       kMin,
       {{0, 1.0}, {1, 1.01}},
       true},
      {"maximize: no better",
       PatientPrunerOptions(2),
       kMax,
       {{0, 0.5}, {1, 0.4}, {2, 0.45}, {3, 0.42}},
       true},
      {"maximize: improved",
       PatientPrunerOptions(2),
       kMax,
       {{0, 0.5}, {1, 0.4}, {2, 0.55}, {3, 0.42}},
       false},
      {"maximize: min_delta",
       PatientPrunerOptions(1).min_delta(0.1),
       kMax,
       {{0, 0.5}, {1, 0.45}, {2, 0.41}},
       false},  // 0.4 > 0.45 is false
      {"NaNs ignored",
       PatientPrunerOptions(1),
       kMin,
       {{0, kNan}, {1, 1.0}, {2, 2.0}, {3, kNan}},
       true},  // 1.0 < 2.0
      {"window all NaN: kept",
       PatientPrunerOptions(1),
       kMin,
       {{0, 1.0}, {1, kNan}, {2, kNan}},
       false},
      {"before all NaN: kept",
       PatientPrunerOptions(1),
       kMin,
       {{0, kNan}, {1, 5.0}, {2, 6.0}},
       false},
      {"steps need not be contiguous",
       PatientPrunerOptions(1),
       kMin,
       {{0, 1.0}, {5, 2.0}, {9, 3.0}},
       true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Study study = testing::pruner_study(c.direction);
    FrozenTrial trial;
    trial.intermediate_values = c.current;
    EXPECT_EQ(PatientPruner(nullptr, c.options).prune(study, trial), c.expected);
  }
}

// Answers `answer` and counts the calls.
class FixedPruner : public Pruner {
 public:
  explicit FixedPruner(bool answer) : answer_(answer) {}
  bool prune(Study&, const FrozenTrial&) override {
    ++calls;
    return answer_;
  }
  int calls = 0;

 private:
  bool answer_;
};

TEST(PatientPruner, AsksTheWrappedPrunerOnlyWhenOutOfPatience) {
  Study study = testing::pruner_study(StudyDirection::kMinimize);
  FrozenTrial stalled, improving;
  stalled.intermediate_values = {{0, 1.0}, {1, 2.0}, {2, 3.0}};
  improving.intermediate_values = {{0, 3.0}, {1, 2.0}, {2, 1.0}};
  for (bool answer : {false, true}) {
    auto wrapped = std::make_shared<FixedPruner>(answer);
    PatientPruner pruner(wrapped, PatientPrunerOptions(1));
    EXPECT_FALSE(pruner.prune(study, improving));
    EXPECT_EQ(wrapped->calls, 0);
    EXPECT_EQ(pruner.prune(study, stalled), answer);
    EXPECT_EQ(wrapped->calls, 1);
  }
}

TEST(PatientPruner, BadOptionsThrowNamingTheField) {
  struct Case {
    PatientPrunerOptions options;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {PatientPrunerOptions(-1), {"patience = -1", ">= 0"}},
      {PatientPrunerOptions(2).min_delta(-0.5), {"min_delta = -0.5", ">= 0"}},
      {PatientPrunerOptions(2).min_delta(kNan), {"min_delta = nan", "a number >= 0"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid([&] { PatientPruner pruner(nullptr, c.options); }, c.expected);
  }
}

}  // namespace
}  // namespace knob
