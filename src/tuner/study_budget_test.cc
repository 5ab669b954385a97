// StudyBudget: what counts towards n_trials, the stored attribute, and several Study objects
// on one SQLite file running a study's budget between them.
#include "knob/tuner/study_budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

FrozenTrial trial_in(TrialState state, const std::map<std::string, Json>& system_attrs = {}) {
  FrozenTrial t;
  t.state = state;
  t.system_attrs = system_attrs;
  return t;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(StudyBudgetTest, StartedTrialsCountAndARetryReplacesTheTrialItRetries) {
  EXPECT_EQ(trials_counted_in_budget({}), 0);
  EXPECT_EQ(
      trials_counted_in_budget({trial_in(TrialState::kComplete), trial_in(TrialState::kPruned),
                                trial_in(TrialState::kFail), trial_in(TrialState::kRunning),
                                trial_in(TrialState::kWaiting)}),
      4);
  // Trial 0 went stale; its retry waits, then runs.
  FrozenTrial stale = trial_in(TrialState::kFail);
  EXPECT_EQ(
      trials_counted_in_budget({stale, trial_in(TrialState::kWaiting, {{"failed_trial", 0}})}), 0);
  EXPECT_EQ(
      trials_counted_in_budget({stale, trial_in(TrialState::kComplete, {{"failed_trial", 0}})}), 1);
  EXPECT_EQ(
      trials_counted_in_budget({stale, trial_in(TrialState::kRunning, {{"knob:retry_of", 0}})}), 1);
}

TEST(StudyBudgetTest, IsStoredWithTheStudy) {
  Study study = create_study();
  EXPECT_FALSE(load_study_budget(study));
  EXPECT_FALSE(study_budget_spent(study));  // no budget: never spent
  save_study_budget(study, StudyBudget().n_trials(3).deadline(1.5e9));
  std::optional<StudyBudget> loaded = load_study_budget(study);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->n_trials(), 3);
  EXPECT_EQ(loaded->deadline(), 1.5e9);
  EXPECT_TRUE(study_budget_spent(study));  // the deadline passed in 2017
  save_study_budget(study, StudyBudget().n_trials(1));
  EXPECT_FALSE(load_study_budget(study)->deadline());
  EXPECT_FALSE(study_budget_spent(study));
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, 1);
  EXPECT_TRUE(study_budget_spent(study));
}

TEST(StudyBudgetTest, IsNotSpentWhileARetryWaits) {
  Study study = create_study();
  save_study_budget(study, StudyBudget().n_trials(1));
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, 2);  // one over
  EXPECT_TRUE(study_budget_spent(study));
  FrozenTrial retry;
  retry.state = TrialState::kWaiting;
  retry.system_attrs["failed_trial"] = 0;
  study.storage().create_trial(study.study_id(), &retry);
  EXPECT_FALSE(study_budget_spent(study));
  study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, 1);  // runs the retry
  EXPECT_TRUE(study_budget_spent(study));
}

TEST(StudyBudgetTest, DeadlineAheadLeavesTrialsToRun) {
  Study study = create_study();
  save_study_budget(study, StudyBudget().deadline(unix_now() + 3600));
  EXPECT_FALSE(study_budget_spent(study));
}

TEST(StudyBudgetMalformedTest, StoredValuesThatAreNotNumbersAreNamed) {
  Study study = create_study();
  study.storage().set_study_system_attr(study.study_id(), "knob:budget",
                                        Json::parse(R"({"n_trials": "ten"})"));
  testing::expect_invalid("n_trials text", [&] { load_study_budget(study); },
                          {"knob:budget.n_trials", "ten", "must be a number or null"});
  study.storage().set_study_system_attr(study.study_id(), "knob:budget",
                                        Json::parse(R"({"deadline": [1]})"));
  testing::expect_invalid("deadline list", [&] { load_study_budget(study); },
                          {"knob:budget.deadline", "must be a number or null"});
}

// Three "processes" (Study objects with their own SQLite connections), two threads each,
// share a budget of 12: together they run 12 trials, give or take the trials started at the
// same instant.
TEST(StudyBudgetTest, StudiesOnOneFileRunTheBudgetBetweenThem) {
  testing::TempDir dir;
  const std::string url = "sqlite:///" + dir.file("budget.db");
  Study first = create_study(StudyOptions().storage(url).study_name("shared"));
  save_study_budget(first, StudyBudget().n_trials(12));
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      Study study = load_study(StudyOptions().storage(url).study_name("shared"));
      study.optimize(
          [](Trial& t) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            return t.suggest_float("x", 0, 1);
          },
          OptimizeOptions().n_jobs(2).keep_going([](Study& s) { return !study_budget_spent(s); }));
    });
  }
  for (auto& w : workers) w.join();
  const int64_t ran = static_cast<int64_t>(first.trials().size());
  EXPECT_GE(ran, 12);
  EXPECT_LE(ran, 12 + 5);  // at most one extra per other thread
  EXPECT_EQ(static_cast<int64_t>(first.trials({TrialState::kComplete}).size()), ran);
}

}  // namespace
}  // namespace knob
