// Every pruner replayed against Optuna 3.1's: the same 60 learning curves reported in the same
// order by trials of a study named "replay" give the same pruning decisions (trial and step)
// and, for ASHA and Hyperband, the same completed_rung_N attributes
// (scripts/gen_pruner_golden.py -> pruner_golden.h).
#include <gtest/gtest.h>

#include "tuner/pruners/pruner_golden.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

TEST(PrunerReplay, DecisionsAndRungsMatchOptuna) {
  const auto curves = golden::replay_curves();
  for (const auto& c : golden::replay_cases()) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.pruned_at.size(), curves.size());
    Study study =
        testing::pruner_study(c.maximize ? StudyDirection::kMaximize : StudyDirection::kMinimize,
                              c.make_pruner(), "replay");
    for (size_t i = 0; i < curves.size(); ++i) {
      auto curve = curves[i];
      if (c.maximize) {
        for (auto& [step, value] : curve) value = -value;
      }
      EXPECT_EQ(testing::run_curve(study, curve), c.pruned_at[i]) << "trial " << i;
    }
    const auto trials = study.trials();
    ASSERT_EQ(trials.size(), curves.size());
    for (size_t i = 0; i < trials.size(); ++i) {
      EXPECT_EQ(testing::completed_rungs(trials[i]), c.completed_rungs[i]) << "trial " << i;
    }
  }
}

}  // namespace
}  // namespace knob
