// Constraints: reading the stored values, feasibility, StudyOptions::constraints_func storing
// them before the state (so samplers and best_trial(s) see them), and bad constraint values
// failing the trial.
#include "knob/tuner/constraints.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

TEST(Constraints, ReadAndFeasibility) {
  struct Case {
    const char* name;
    std::optional<Json> attr;
    std::optional<std::vector<double>> values;
    bool feasible;
    double violation;
  } cases[] = {
      {"none stored", std::nullopt, std::nullopt, true, 0},
      {"all <= 0", Json::array({-1.0, 0.0}), std::vector<double>{-1, 0}, true, 0},
      {"one > 0", Json::array({-1.0, 2.5, 0.5}), std::vector<double>{-1, 2.5, 0.5}, false, 3},
      {"empty list", Json::array(), std::vector<double>{}, true, 0},
      {"null (Optuna's failed constraints_func)", Json(), std::nullopt, true, 0},
  };
  for (const auto& c : cases) {
    FrozenTrial t;
    if (c.attr) t.system_attrs[kConstraintsKey] = *c.attr;
    EXPECT_EQ(trial_constraints(t), c.values) << c.name;
    EXPECT_EQ(is_feasible(t), c.feasible) << c.name;
    EXPECT_DOUBLE_EQ(total_violation(t), c.violation) << c.name;
  }
}

// Records what after_trial saw.
class Recorder : public RandomSampler {
 public:
  void after_trial(Study&, const FrozenTrial& trial, TrialState,
                   const std::vector<double>&) override {
    seen.push_back(trial_constraints(trial));
  }
  std::vector<std::optional<std::vector<double>>> seen;
};

Study constrained_study(std::shared_ptr<Sampler> sampler, std::vector<StudyDirection> directions) {
  return create_study(StudyOptions()
                          .storage_instance(std::make_shared<SqliteStorage>(":memory:"))
                          .directions(std::move(directions))
                          .sampler(std::move(sampler))
                          .constraints_func([](const FrozenTrial& t) {
                            return std::vector<double>{t.values[0] - 2.0};  // value <= 2
                          }));
}

TEST(Constraints, StudyStoresThemBeforeTheState) {
  auto recorder = std::make_shared<Recorder>();
  Study study = constrained_study(recorder, {StudyDirection::kMaximize});
  int i = 0;
  study.optimize([&](Trial&) { return static_cast<double>(i++); }, 4);  // values 0..3
  ASSERT_EQ(recorder->seen.size(), 4u);
  EXPECT_EQ(recorder->seen[3], std::vector<double>{1.0});
  const auto trials = study.trials();
  EXPECT_EQ(trial_constraints(trials[0]), std::vector<double>{-2.0});
  EXPECT_FALSE(is_feasible(trials[3]));
  // Maximizing: trial 3 has the highest value but violates value <= 2.
  EXPECT_EQ(study.best_trial().number, 2);
  // PRUNED trials carry constraints too; FAIL ones do not.
  Trial t = study.ask();
  study.tell(t, TrialState::kFail);
  EXPECT_FALSE(trial_constraints(study.trials().back()).has_value());
}

TEST(Constraints, BestTrialsHoldOnlyFeasibleTrials) {
  Study study = constrained_study(nullptr, {StudyDirection::kMinimize, StudyDirection::kMinimize});
  // (value0, value1): (3, 0) is infeasible and would be on the front.
  for (auto values : std::vector<std::vector<double>>{{3, 0}, {1, 2}, {2, 1}, {2, 3}}) {
    Trial t = study.ask();
    study.tell(t, TrialState::kComplete, values);
  }
  std::vector<int64_t> front;
  for (const auto& t : study.best_trials()) front.push_back(t.number);
  EXPECT_EQ(front, (std::vector<int64_t>{1, 2}));
}

TEST(Constraints, NoFeasibleTrialMeansNoBestTrial) {
  Study study = constrained_study(nullptr, {StudyDirection::kMinimize});
  Trial t = study.ask();
  study.tell(t, TrialState::kComplete, {5});
  try {
    study.best_trial();
    ADD_FAILURE() << "did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("feasible"), std::string::npos) << e.what();
  }
}

TEST(Constraints, BadConstraintValuesFailTheTrial) {
  struct Case {
    const char* name;
    ConstraintsFunc func;
    const char* reason;
  } cases[] = {
      {"NaN",
       [](const FrozenTrial&) {
         return std::vector<double>{0, NAN};
       },
       "NaN"},
      {"throws",
       [](const FrozenTrial&) -> std::vector<double> { throw std::runtime_error("boom"); }, "boom"},
  };
  for (const auto& c : cases) {
    Study study = create_study(StudyOptions().constraints_func(c.func));
    Trial t = study.ask();
    FrozenTrial done = study.tell(t, TrialState::kComplete, {1.0});
    EXPECT_EQ(done.state, TrialState::kFail) << c.name;
    const FrozenTrial stored = study.trials().back();
    EXPECT_EQ(stored.state, TrialState::kFail) << c.name;
    EXPECT_FALSE(trial_constraints(stored).has_value()) << c.name;
    const std::string reason = stored.system_attrs.at("fail_reason").get<std::string>();
    EXPECT_NE(reason.find("constraints_func"), std::string::npos) << c.name << ": " << reason;
    EXPECT_NE(reason.find(c.reason), std::string::npos) << c.name << ": " << reason;
  }
}

}  // namespace
}  // namespace knob
