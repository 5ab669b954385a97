// study_tables.h on hand-made studies and trials: the list as a table and as JSON, and a study
// with its best trial, parameters, durations and a fail reason.
#include "knob/report/study_tables.h"

#include <gtest/gtest.h>

#include <chrono>

#include "knob/core/distribution.h"

namespace knob {
namespace {

const TimePoint kStart = TimePoint() + std::chrono::seconds(1'700'000'000);

FrozenTrial trial(int64_t number, TrialState state, std::vector<double> values) {
  FrozenTrial t;
  t.trial_id = number + 1;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  t.datetime_start = kStart;
  if (state != TrialState::kRunning) {
    t.datetime_complete = kStart + std::chrono::milliseconds(1500 + number);
  }
  return t;
}

std::vector<FrozenTrial> three_trials() {
  FrozenTrial a = trial(0, TrialState::kComplete, {0.25});
  FloatDistribution lr(1e-4, 1e-1, true);
  a.distributions.emplace("lr", lr);
  a.internal_params["lr"] = 0.001;
  a.distributions.emplace("width", IntDistribution(16, 256));
  a.internal_params["width"] = 32;
  FrozenTrial b = trial(1, TrialState::kFail, {});
  b.system_attrs["fail_reason"] = "'sh' exited with code 3";
  FrozenTrial c = trial(2, TrialState::kRunning, {});
  return {a, b, c};
}

StudySummary summary(const std::string& name, std::vector<FrozenTrial> trials) {
  StudySummary s;
  s.study_name = name;
  s.directions = {StudyDirection::kMinimize};
  summarize_trials(trials, s);
  return s;
}

TEST(StudyTablesTest, StudiesTableCountsEachState) {
  std::vector<StudySummary> studies = {summary("mlp", three_trials()), summary("empty", {})};
  const std::string started = format_datetime(kStart).substr(0, 19);
  EXPECT_EQ(studies_table(studies),
            "name   direction  trials  complete  pruned  fail  running  waiting  best  started\n" +
                std::string(74 + started.size(), '-') +
                "\n"
                "mlp    MINIMIZE   3       1         0       1     1        0        0.25  " +
                started +
                "\n"
                "empty  MINIMIZE   0       0         0       0     0        0        -     -\n");
  EXPECT_EQ(studies_table({}),
            "name  direction  trials  complete  pruned  fail  running  waiting  best  started\n"
            "--------------------------------------------------------------------------------\n");
}

TEST(StudyTablesTest, StudiesToJsonHasNullsForWhatIsMissing) {
  Json json = studies_to_json({summary("mlp", three_trials()), summary("empty", {})});
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(dumps(json[0]["trial_counts"]), "{\"RUNNING\": 1, \"COMPLETE\": 1, \"FAIL\": 1}");
  EXPECT_EQ(json[0]["best_value"], Json(0.25));
  EXPECT_EQ(json[0]["datetime_start"], Json(format_datetime(kStart)));
  EXPECT_EQ(dumps(json[1]),
            "{\"study_name\": \"empty\", \"directions\": \"MINIMIZE\", \"n_trials\": 0, "
            "\"trial_counts\": {}, \"best_value\": null, \"datetime_start\": null}");
}

TEST(StudyTablesTest, StudyTrialsTextHasTheBestTrialAndOneRowATrial) {
  EXPECT_EQ(study_trials_text("mlp", {StudyDirection::kMinimize}, three_trials()),
            "study mlp (MINIMIZE), 3 trials; best: trial 0 with value 0.25\n"
            "\n"
            "number  state     values  params              duration_s  note\n"
            "---------------------------------------------------------------------------------\n"
            "0       COMPLETE  0.25    lr=0.001, width=32  1.500       \n"
            "1       FAIL                                  1.501       'sh' exited with code 3\n"
            "2       RUNNING                               -           \n");
}

TEST(StudyTablesTest, StudyWithoutACompleteTrialHasNoBest) {
  EXPECT_EQ(study_trials_text("s", {StudyDirection::kMaximize, StudyDirection::kMinimize}, {}),
            "study s (MAXIMIZE,MINIMIZE), 0 trials\n\n"
            "number  state  values  params  duration_s  note\n"
            "-----------------------------------------------\n");
}

}  // namespace
}  // namespace knob
