// CurvePruner in a study: a trial whose curve clearly ends below the best is stopped early and
// one that clearly ends above is kept, in both directions; the same reports give the same
// decisions; the startup, warm-up, min_reports and last-step rules; and its malformed options.
#include "knob/tuner/pruners/curve_pruner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

constexpr int64_t kSteps = 20;

// An accuracy-like curve over steps 0..kSteps-1 saturating at `top`, with a little noise.
testing::Curve accuracy_curve(double top, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.003);
  testing::Curve curve;
  for (int64_t s = 0; s < kSteps; ++s)
    curve[s] = top - 0.5 * std::pow(static_cast<double>(s + 1), -0.7) + noise(rng);
  return curve;
}

// The same as a loss falling to `floor`.
testing::Curve loss_curve(double floor, unsigned seed) {
  testing::Curve curve;
  for (const auto& [s, v] : accuracy_curve(0.0, seed)) curve[s] = floor - 3.0 * v;
  return curve;
}

// A study whose 5 completed trials ended near `best` (their curves as `make` draws them).
Study study_with_history(StudyDirection direction, CurvePrunerOptions options,
                         const std::function<testing::Curve(double, unsigned)>& make, double best) {
  Study study = testing::pruner_study(direction, std::make_shared<CurvePruner>(options));
  for (unsigned seed = 0; seed < 5; ++seed) {
    testing::add_trial(study, TrialState::kComplete, make(best, 100 + seed));
  }
  return study;
}

TEST(CurvePruner, StopsAClearlyWorseTrialAndKeepsABetterOne) {
  Study study = study_with_history(StudyDirection::kMaximize, {}, accuracy_curve, 0.90);
  const int64_t bad = testing::run_curve(study, accuracy_curve(0.75, 1));
  EXPECT_GE(bad, 4);  // min_reports = 5: not before the 5th report
  EXPECT_LE(bad, 8);  // well before the end (step 19)
  // Level with the best, the outcome is open: not stopped.
  EXPECT_EQ(testing::run_curve(study, accuracy_curve(0.90, 3)), -1);
  EXPECT_EQ(testing::run_curve(study, accuracy_curve(0.93, 2)), -1);
  // Now 0.93's trial is the best: one level with the old best is clearly worse.
  EXPECT_NE(testing::run_curve(study, accuracy_curve(0.90, 3)), -1);
}

TEST(CurvePruner, MinimizedLossesTheOtherWayRound) {
  Study study = study_with_history(StudyDirection::kMinimize, {}, loss_curve, 0.30);
  const int64_t bad = testing::run_curve(study, loss_curve(0.75, 1));
  EXPECT_GE(bad, 4);
  EXPECT_LE(bad, 8);
  EXPECT_EQ(testing::run_curve(study, loss_curve(0.21, 2)), -1);
  // The same losses judged as a maximized study: the highest ones are the best, kept.
  Study upside_down = study_with_history(StudyDirection::kMaximize, {}, loss_curve, 0.30);
  EXPECT_EQ(testing::run_curve(upside_down, loss_curve(0.75, 1)), -1);
}

TEST(CurvePruner, SameReportsSameDecisions) {
  CurvePruner pruner;
  FrozenTrial trial;
  trial.intermediate_values = accuracy_curve(0.8, 5);
  trial.intermediate_values.erase(trial.intermediate_values.find(8),
                                  trial.intermediate_values.end());
  const auto a = pruner.probability_to_beat(trial, kSteps - 1, 0.85, true);
  const auto b = CurvePruner().probability_to_beat(trial, kSteps - 1, 0.85, true);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_GE(*a, 0.0);
  EXPECT_LT(*a, 0.05);
  std::vector<int64_t> steps;
  for (int run = 0; run < 2; ++run) {
    Study study = study_with_history(StudyDirection::kMaximize, {}, accuracy_curve, 0.9);
    steps.push_back(testing::run_curve(study, accuracy_curve(0.8, 6)));
  }
  EXPECT_EQ(steps[0], steps[1]);
  EXPECT_NE(steps[0], -1);
}

TEST(CurvePruner, WaitsForStartupTrialsWarmUpAndReports) {
  const testing::Curve bad = accuracy_curve(0.6, 1);
  {  // 5 completed, 6 needed
    Study study = study_with_history(StudyDirection::kMaximize,
                                     CurvePrunerOptions().n_startup_trials(6), accuracy_curve, 0.9);
    EXPECT_EQ(testing::run_curve(study, bad), -1);
  }
  {
    Study study = study_with_history(StudyDirection::kMaximize,
                                     CurvePrunerOptions().n_warmup_steps(10), accuracy_curve, 0.9);
    EXPECT_EQ(testing::run_curve(study, bad), 10);
  }
  {
    Study study = study_with_history(StudyDirection::kMaximize, CurvePrunerOptions().min_reports(8),
                                     accuracy_curve, 0.9);
    EXPECT_EQ(testing::run_curve(study, bad), 7);
  }
  {
    Study study = study_with_history(StudyDirection::kMaximize,
                                     CurvePrunerOptions().interval_steps(3), accuracy_curve, 0.9);
    EXPECT_EQ(testing::run_curve(study, bad) % 3, 0);
  }
  {  // NaNs are left out of the fit, and do not count as reports
    Study study = study_with_history(StudyDirection::kMaximize, {}, accuracy_curve, 0.9);
    testing::Curve with_nan = bad;
    with_nan[2] = std::nan("");
    EXPECT_EQ(testing::run_curve(study, with_nan), 5);
  }
}

TEST(CurvePruner, TheLastStepFromTheOptionTheTrialOrTheLongestTrial) {
  CurvePruner pruner;
  // A trial behind the best now but rising: it may catch up if it runs long enough.
  FrozenTrial trial;
  for (int64_t s = 0; s < 8; ++s) trial.intermediate_values[s] = 0.8 - 0.6 * std::exp(-0.1 * s);
  const auto soon = pruner.probability_to_beat(trial, 9, 0.75, true);
  const auto late = pruner.probability_to_beat(trial, 99, 0.75, true);
  ASSERT_TRUE(soon && late);
  EXPECT_LT(*soon, 0.05);
  EXPECT_GT(*late, 0.5);

  Study study = testing::pruner_study(StudyDirection::kMaximize);
  for (unsigned seed = 0; seed < 5; ++seed)
    testing::add_trial(study, TrialState::kComplete,
                       {{0, 0.1}, {5, 0.5}, {9, 0.75}});  // "auto": the last step is 9
  EXPECT_TRUE(CurvePruner().prune(study, trial));
  EXPECT_FALSE(CurvePruner(CurvePrunerOptions().max_resource(100)).prune(study, trial));
  trial.user_attrs["max_resource"] = 100;  // as knob's trainer sets it: train.epochs
  EXPECT_FALSE(CurvePruner().prune(study, trial));
  EXPECT_TRUE(CurvePruner(CurvePrunerOptions().max_resource(10)).prune(study, trial));
  // At or past the last step there is nothing left to save.
  EXPECT_FALSE(CurvePruner(CurvePrunerOptions().max_resource(8)).prune(study, trial));
}

TEST(CurvePruner, NeedsACompletedTrialWithReports) {
  Study study = testing::pruner_study(StudyDirection::kMaximize);
  for (int i = 0; i < 5; ++i) testing::add_trial(study, TrialState::kComplete, {});
  testing::add_trial(study, TrialState::kPruned, accuracy_curve(0.99, 1));
  FrozenTrial trial;
  trial.intermediate_values = accuracy_curve(0.1, 2);
  EXPECT_FALSE(CurvePruner(CurvePrunerOptions().max_resource(kSteps)).prune(study, trial));
}

TEST(CurvePruner, RefusesMalformedOptions) {
  using testing::expect_invalid;
  auto make = [](CurvePrunerOptions o) { return [o] { CurvePruner p(o); }; };
  expect_invalid(make(CurvePrunerOptions().max_resource(1)), {"max_resource", "1", ">= 2"});
  expect_invalid(make(CurvePrunerOptions().probability(0.0)), {"probability", "0", "(0, 1)"});
  expect_invalid(make(CurvePrunerOptions().probability(1.0)), {"probability", "1", "(0, 1)"});
  expect_invalid(make(CurvePrunerOptions().probability(std::nan(""))),
                 {"probability", "nan", "(0, 1)"});
  expect_invalid(make(CurvePrunerOptions().n_startup_trials(-1)), {"n_startup_trials", "-1"});
  expect_invalid(make(CurvePrunerOptions().n_warmup_steps(-1)), {"n_warmup_steps", "-1"});
  expect_invalid(make(CurvePrunerOptions().interval_steps(0)), {"interval_steps", "0", ">= 1"});
  expect_invalid(make(CurvePrunerOptions().min_reports(2)), {"min_reports", "2", ">= 3"});
}

}  // namespace
}  // namespace knob
