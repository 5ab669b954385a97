// HyperbandPruner's bracket arithmetic against Optuna 3.1's (scripts/gen_pruner_golden.py ->
// pruner_golden.h): number of brackets, budgets, each bracket's min_early_stopping_rate and the
// bracket of trials 0..99; and its malformed options.
#include "knob/tuner/pruners/hyperband_pruner.h"

#include <gtest/gtest.h>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_golden.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

TEST(HyperbandPruner, BracketsMatchOptuna) {
  for (const auto& c : golden::hyperband_cases()) {
    SCOPED_TRACE(std::string(c.study_name) + " max_resource " + std::to_string(c.max_resource));
    HyperbandPruner pruner(HyperbandPrunerOptions()
                               .min_resource(c.min_resource)
                               .max_resource(c.max_resource)
                               .reduction_factor(c.reduction_factor));
    ASSERT_EQ(pruner.n_brackets(), c.n_brackets);
    EXPECT_EQ(pruner.budgets(), c.budgets);
    for (int64_t b = 0; b < pruner.n_brackets(); ++b) {
      const auto& options = pruner.bracket_options(b);
      EXPECT_EQ(options.min_early_stopping_rate(), c.min_early_stopping_rates[b]);
      EXPECT_EQ(options.min_resource(), c.min_resource);
      EXPECT_EQ(options.reduction_factor(), c.reduction_factor);
    }
    std::vector<int64_t> brackets;
    for (int64_t n = 0; n < 100; ++n) brackets.push_back(pruner.bracket_of(c.study_name, n));
    EXPECT_EQ(brackets, c.bracket_of_trial);
  }
}

TEST(HyperbandPruner, AutoMaxResourceWaitsForACompletedTrial) {
  auto pruner = std::make_shared<HyperbandPruner>();
  Study study = testing::pruner_study(StudyDirection::kMinimize, pruner);
  EXPECT_EQ(pruner->n_brackets(), 0);
  EXPECT_EQ(pruner->bracket_of("pruner", 7), 0);  // as Optuna before its brackets exist
  testing::add_trial(study, TrialState::kPruned, {{0, 1.0}, {30, 1.0}});
  EXPECT_EQ(testing::run_curve(study, testing::Curve{{0, 9.0}, {1, 9.0}}), -1);
  EXPECT_EQ(pruner->n_brackets(), 0);  // pruned trials do not count
  testing::add_trial(study, TrialState::kComplete, {{0, 1.0}, {8, 1.0}});
  testing::run_curve(study, testing::Curve{{0, 9.0}});
  // max_resource 8 + 1 = 9: floor(log3(9)) + 1 = 3 brackets.
  EXPECT_EQ(pruner->n_brackets(), 3);
  EXPECT_EQ(pruner->budgets(), (std::vector<int64_t>{9, 5, 3}));
}

TEST(HyperbandPruner, BadOptionsThrowNamingTheField) {
  struct Case {
    HyperbandPrunerOptions options;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {HyperbandPrunerOptions().min_resource(0), {"min_resource = 0", ">= 1"}},
      {HyperbandPrunerOptions().min_resource(5).max_resource(4),
       {"max_resource = 4", ">= min_resource (5)", "auto"}},
      {HyperbandPrunerOptions().reduction_factor(1), {"reduction_factor = 1", ">= 2"}},
      {HyperbandPrunerOptions().max_resource(9).bootstrap_count(-1),
       {"bootstrap_count = -1", ">= 0"}},
      {HyperbandPrunerOptions().bootstrap_count(2),
       {"bootstrap_count = 2", "must be 0 when max_resource is \"auto\""}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid([&] { HyperbandPruner pruner(c.options); }, c.expected);
  }
}

}  // namespace
}  // namespace knob
