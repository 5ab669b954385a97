// SuccessiveHalvingPruner (ASHA) against hand-computed rungs: trials run in order, each
// reporting a curve; the table gives where each is pruned and the completed_rung_N values it
// leaves. The JSON of those attributes in SQLite is Optuna's (pruner_golden.h).
#include "knob/tuner/pruners/successive_halving_pruner.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <limits>

#include "knob/core/error.h"
#include "testing/test_support.h"
#include "tuner/pruners/pruner_golden.h"
#include "tuner/pruners/pruner_test_support.h"

namespace knob {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
using testing::Curve;

struct Run {
  Curve curve;
  int64_t pruned_at;          // -1: completed
  std::vector<double> rungs;  // completed_rung_0, 1, ... afterwards
};

struct RungCase {
  const char* name;
  SuccessiveHalvingPrunerOptions options;
  StudyDirection direction;
  std::vector<Run> runs;
};

SuccessiveHalvingPrunerOptions sha(int64_t min_resource, int64_t reduction_factor) {
  return SuccessiveHalvingPrunerOptions()
      .min_resource(min_resource)
      .reduction_factor(reduction_factor);
}

std::vector<RungCase> rung_cases() {
  const auto kMin = StudyDirection::kMinimize;
  const auto kMax = StudyDirection::kMaximize;
  return {
      // Rungs at steps 1, 2, 4, 8; a trial goes on if it is in the best half (at least the best).
      {"min_resource 1, reduction_factor 2",
       sha(1, 2),
       kMin,
       {
           // alone at every rung: promoted
           {{{0, 5}, {1, 4}, {2, 3}, {3, 3}, {4, 2}}, -1, {4, 3, 2}},
           // rung 0: [4, 6], keeps the best 1: 6 > 4
           {{{0, 5}, {1, 6}, {2, 1}}, 1, {6}},
           // rung 0: [3, 4, 6] keeps 1: 3; rung 1: [2.5, 3] keeps 1; rung 2: 2.2 > 2
           {{{0, 5}, {1, 3}, {2, 2.5}, {3, 2.4}, {4, 2.2}}, 4, {3, 2.5, 2.2}},
           // a jump to step 5 completes rungs 0, 1, 2 with the same value: best at each
           {{{0, 9}, {5, 1}}, -1, {1, 1, 1}},
           // NaN at a rung prunes and records nothing
           {{{0, 1}, {1, kNan}}, 1, {}},
           // rung 0: [1, 3, 3.5, 4, 6] keeps 2: 3.5 > 3
           {{{0, 1}, {1, 3.5}}, 1, {3.5}},
           // rung 0: [1, 3, 3, 3.5, 4, 6] keeps 3: 3 <= 3
           {{{1, 3}}, -1, {3}},
       }},
      {"maximize, reduction_factor 3",
       sha(1, 3),
       kMax,
       {
           {{{1, 0.5}}, -1, {0.5}},
           {{{1, 0.4}}, 1, {0.4}},    // [0.4, 0.5] keeps the best: 0.5
           {{{1, 0.6}}, -1, {0.6}},   // the best
           {{{1, 0.55}}, 1, {0.55}},  // 4 / 3 = 1 kept: 0.6
       }},
      {"bootstrap_count 2",
       sha(1, 2).bootstrap_count(2),
       kMin,
       {
           {{{1, 1.0}}, 1, {1.0}},   // 1 at the rung <= 2
           {{{1, 0.5}}, 1, {0.5}},   // 2 <= 2
           {{{1, 5.0}}, 1, {5.0}},   // 3 > 2, but [0.5, 1, 5] keeps 0.5
           {{{1, 0.1}}, -1, {0.1}},  // the best
       }},
      {"min_early_stopping_rate 1: rung 0 at 2 * 2^1",
       sha(2, 2).min_early_stopping_rate(1),
       kMin,
       {
           {{{0, 1}, {3, 1}}, -1, {}},
           {{{4, 2}}, -1, {2}},
           {{{4, 3}, {7, 3}, {8, 0.5}}, 4, {3}},
       }},
      {"auto min_resource: 250 / 100 = 2 from the first completed trial",
       SuccessiveHalvingPrunerOptions(),
       kMin,
       {
           {{{0, 1}, {250, 1}}, -1, {}},  // nothing completed yet: no rungs
           {{{1, 5}, {2, 4}}, -1, {4}},   // rung 0 at step 2, not 1
           {{{2, 5}, {8, 1}}, 2, {5}},    // [4, 5] keeps 4
       }},
  };
}

TEST(SuccessiveHalvingPruner, RungsMatchHandComputed) {
  for (const auto& c : rung_cases()) {
    SCOPED_TRACE(c.name);
    Study study =
        testing::pruner_study(c.direction, std::make_shared<SuccessiveHalvingPruner>(c.options));
    for (size_t i = 0; i < c.runs.size(); ++i) {
      EXPECT_EQ(testing::run_curve(study, c.runs[i].curve), c.runs[i].pruned_at) << "trial " << i;
    }
    const auto trials = study.trials();
    for (size_t i = 0; i < c.runs.size(); ++i) {
      EXPECT_EQ(testing::completed_rungs(trials[i]), c.runs[i].rungs) << "trial " << i;
    }
  }
}

TEST(SuccessiveHalvingPruner, ReadsTheRungsAlreadyStoredForTheTrial) {
  // A trial whose rung 0 was recorded elsewhere (another worker, an Optuna process): the caller's
  // copy lacks the attribute, the stored trial has it, so step 1 is not judged at rung 0 again.
  auto pruner = std::make_shared<SuccessiveHalvingPruner>(sha(1, 2));
  Study study = testing::pruner_study(StudyDirection::kMinimize, pruner);
  testing::add_trial(study, TrialState::kComplete, {{1, 1.0}}, {{"completed_rung_0", 1.0}});
  const int64_t id =
      testing::add_trial(study, TrialState::kRunning, {{1, 100.0}}, {{"completed_rung_0", 0.5}});
  FrozenTrial copy = study.storage().trial(id);
  copy.system_attrs.clear();
  EXPECT_FALSE(pruner->prune(study, copy));
  EXPECT_EQ(testing::completed_rungs(study.storage().trial(id)), std::vector<double>{0.5});
  // Without the stored rung, 100 at rung 0 against 1 is pruned.
  const int64_t fresh = testing::add_trial(study, TrialState::kRunning, {{1, 100.0}});
  EXPECT_TRUE(pruner->prune(study, study.storage().trial(fresh)));
}

TEST(SuccessiveHalvingPruner, RungAttributesAreOptunasJson) {
  testing::TempDir dir;
  Study study = testing::pruner_study(StudyDirection::kMinimize,
                                      std::make_shared<SuccessiveHalvingPruner>(sha(1, 2)), "json",
                                      dir.url("asha.db"));
  const auto cases = golden::rung_json();
  for (const auto& c : cases) testing::run_curve(study, Curve{{1, c.value}});
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("asha.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT key, value_json FROM trial_system_attributes "
                               "WHERE key LIKE 'completed_rung_%' ORDER BY trial_id",
                               -1, &select, nullptr),
            SQLITE_OK);
  for (const auto& c : cases) {
    ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)), "completed_rung_0");
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(select, 1)), c.json);
  }
  EXPECT_EQ(sqlite3_step(select), SQLITE_DONE);
  sqlite3_finalize(select);
  sqlite3_close(db);
}

TEST(SuccessiveHalvingPruner, BadOptionsThrowNamingTheField) {
  struct Case {
    SuccessiveHalvingPrunerOptions options;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {SuccessiveHalvingPrunerOptions().min_resource(0), {"min_resource = 0", ">= 1 or \"auto\""}},
      {SuccessiveHalvingPrunerOptions().reduction_factor(1), {"reduction_factor = 1", ">= 2"}},
      {SuccessiveHalvingPrunerOptions().min_early_stopping_rate(-1),
       {"min_early_stopping_rate = -1", ">= 0"}},
      {sha(1, 4).bootstrap_count(-3), {"bootstrap_count = -3", ">= 0"}},
      {SuccessiveHalvingPrunerOptions().bootstrap_count(1),
       {"bootstrap_count = 1", "must be 0 when min_resource is \"auto\""}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid([&] { SuccessiveHalvingPruner pruner(c.options); }, c.expected);
  }
}

}  // namespace
}  // namespace knob
