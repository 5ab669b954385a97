// study_tables.h on hand-made studies and trials: the list as a table and as JSON, and a study
// with its best trial, parameters, durations and a fail reason.
#include "knob/report/study_tables.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

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

// Two objectives (maximize accuracy, minimize seconds) with constraints on seconds.
std::vector<FrozenTrial> constrained_front() {
  auto with = [](int64_t number, std::vector<double> values, std::optional<double> constraint) {
    FrozenTrial t = trial(number, TrialState::kComplete, std::move(values));
    if (constraint) t.system_attrs["constraints"] = Json::array({*constraint});
    return t;
  };
  return {with(0, {0.9, 300.0}, 100.0),        // best accuracy, but infeasible
          with(1, {0.8, 100.0}, -100.0),       // on the front
          with(2, {0.7, 150.0}, -50.0),        // dominated by 1
          with(3, {0.6, 50.0}, std::nullopt),  // no constraints stored: feasible, on the front
          trial(4, TrialState::kFail, {})};
}

TEST(StudyTablesTest, FrontLeavesInfeasibleTrialsOutAndShowsConstraints) {
  const std::vector<StudyDirection> directions = {StudyDirection::kMaximize,
                                                  StudyDirection::kMinimize};
  auto trials = constrained_front();
  std::vector<int64_t> numbers;
  for (const FrozenTrial* t : pareto_front(trials, directions)) numbers.push_back(t->number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 3}));
  // Without the constraints trial 0 dominates 2 and is on the front.
  for (auto& t : trials) t.system_attrs.erase("constraints");
  numbers.clear();
  for (const FrozenTrial* t : pareto_front(trials, directions)) numbers.push_back(t->number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 3}));

  const std::string text = study_trials_text("mo", directions, constrained_front());
  EXPECT_EQ(text.substr(0, text.find("\n\n")), "study mo (MAXIMIZE,MINIMIZE), 5 trials");
  EXPECT_NE(text.find("number  state     values      constraints  feasible  params"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("0       COMPLETE  0.9, 300.0  100.0        no"), std::string::npos) << text;
  EXPECT_NE(text.find("3       COMPLETE  0.6, 50.0                -"), std::string::npos) << text;
  const std::string front = text.substr(text.find("Pareto front"));
  EXPECT_EQ(front,
            "Pareto front: 2 of 3 feasible COMPLETE trials (1 infeasible)\n"
            "\n"
            "number  values      constraints  params\n"
            "---------------------------------------\n"
            "1       0.8, 100.0  -100.0       \n"
            "3       0.6, 50.0                \n");
}

TEST(StudyTablesTest, SingleObjectiveBestIsFeasible) {
  std::vector<FrozenTrial> trials = {trial(0, TrialState::kComplete, {0.1}),
                                     trial(1, TrialState::kComplete, {0.5})};
  trials[0].system_attrs["constraints"] = Json::array({2.0, -1.0});
  trials[1].system_attrs["constraints"] = Json::array({0.0, -1.0});  // 0 holds
  const std::string text = study_trials_text("c", {StudyDirection::kMinimize}, trials);
  EXPECT_EQ(text.substr(0, text.find("\n")),
            "study c (MINIMIZE), 2 trials; best: trial 1 with value 0.5");
  EXPECT_NE(text.find("2.0, -1.0    no"), std::string::npos) << text;
  EXPECT_EQ(text.find("Pareto front"), std::string::npos);
}

}  // namespace
}  // namespace knob
