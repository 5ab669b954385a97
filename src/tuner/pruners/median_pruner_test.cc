// MedianPruner against hand-computed medians (each decision was also checked once against
// Debian's python3-optuna 3.1 MedianPruner on the same trials), and `percentile` against
// numpy's linear interpolation.
#include "knob/tuner/pruners/median_pruner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/study.h"

namespace knob {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Curve = std::map<int64_t, double>;  // step -> intermediate value

// Three completed learning curves; their medians are 2.0 at step 0, 1.6 at step 1, 1.2 at step 2.
const Curve kA = {{0, 1.0}, {1, 0.8}, {2, 0.6}};
const Curve kB = {{0, 2.0}, {1, 1.6}, {2, 1.2}};
const Curve kC = {{0, 3.0}, {1, 2.4}, {2, 1.8}};

struct PruneCase {
  const char* name;
  MedianPrunerOptions options;
  StudyDirection direction;
  std::vector<Curve> completed;
  Curve current;  // the running trial's reports
  bool expected;
};

MedianPrunerOptions startup(int64_t n) { return MedianPrunerOptions().n_startup_trials(n); }

const StudyDirection kMin = StudyDirection::kMinimize;
const StudyDirection kMax = StudyDirection::kMaximize;

std::vector<PruneCase> prune_cases() {
  return {
      // name, options, direction, completed, current, expected   // why
      {"startup: 2 completed < 5 (default)", {}, kMin, {kA, kB}, {{0, 10.0}}, false},
      {"above the median", startup(3), kMin, {kA, kB, kC}, {{0, 2.5}}, true},      // 2.5 > 2.0
      {"equal to the median", startup(3), kMin, {kA, kB, kC}, {{0, 2.0}}, false},  // not >
      {"below the median", startup(3), kMin, {kA, kB, kC}, {{0, 1.9}}, false},
      {"best over steps keeps",
       startup(3),
       kMin,
       {kA, kB, kC},
       {{0, 1.0}, {1, 5.0}},
       false},  // 1.0 < 1.6
      {"best over steps prunes",
       startup(3),
       kMin,
       {kA, kB, kC},
       {{0, 2.5}, {1, 1.7}},
       true},  // 1.7 > 1.6
      {"even count: mean of the middle two",
       startup(2),
       kMin,
       {kA, kB},
       {{0, 1.6}},
       true},  // > 1.5
      {"even count keeps", startup(2), kMin, {kA, kB}, {{0, 1.4}}, false},
      {"warm-up not over",
       startup(3).n_warmup_steps(2),
       kMin,
       {kA, kB, kC},
       {{0, 9.0}, {1, 9.0}},
       false},
      {"warm-up over",
       startup(3).n_warmup_steps(2),
       kMin,
       {kA, kB, kC},
       {{0, 9.0}, {1, 9.0}, {2, 9.0}},
       true},  // 9 > 1.2
      {"interval 2: step 1 is not judged",
       startup(3).interval_steps(2),
       kMin,
       {kA, kB, kC},
       {{0, 9.0}, {1, 9.0}},
       false},
      {"interval 2: step 2 is judged",
       startup(3).interval_steps(2),
       kMin,
       {kA, kB, kC},
       {{0, 9.0}, {1, 9.0}, {2, 9.0}},
       true},
      // Steps need not be contiguous: the first report in an interval is judged.
      {"interval 2: reports 0, 3 judge step 3",
       startup(3).interval_steps(2),
       kMin,
       {{{3, 1.0}}, {{3, 2.0}}, {{3, 3.0}}},
       {{0, 9.0}, {3, 9.0}},
       true},
      {"interval 3: reports 3, 4 skip step 4",
       startup(3).interval_steps(3),
       kMin,
       {{{4, 1.0}}, {{4, 2.0}}, {{4, 3.0}}},
       {{3, 9.0}, {4, 9.0}},
       false},
      {"warm-up 1, interval 2: step 3 judged",
       startup(3).n_warmup_steps(1).interval_steps(2),
       kMin,
       {{{3, 1.0}}, {{3, 2.0}}, {{3, 3.0}}},
       {{3, 9.0}},
       true},
      {"warm-up 1, interval 2: first report after warm-up judged",
       startup(3).n_warmup_steps(1).interval_steps(2),
       kMin,
       {{{2, 1.0}}, {{2, 2.0}}, {{2, 3.0}}},
       {{2, 9.0}},
       true},
      {"warm-up 1, interval 2: step 2 after step 1 not judged",
       startup(3).n_warmup_steps(1).interval_steps(2),
       kMin,
       {{{2, 1.0}}, {{2, 2.0}}, {{2, 3.0}}},
       {{1, 9.0}, {2, 9.0}},
       false},
      {"n_min_trials 3, 2 reported step 1",
       startup(3).n_min_trials(3),
       kMin,
       {kA, kB, {{0, 1.5}}},
       {{0, 9.0}, {1, 9.0}},
       false},
      {"n_min_trials 2, 2 reported step 1",
       startup(3).n_min_trials(2),
       kMin,
       {kA, kB, {{0, 1.5}}},
       {{0, 9.0}, {1, 9.0}},
       true},  // 9 > (0.8 + 1.6) / 2
      {"maximize: below the median", startup(3), kMax, {kA, kB, kC}, {{0, 1.5}}, true},
      {"maximize: above the median", startup(3), kMax, {kA, kB, kC}, {{0, 2.5}}, false},
      {"maximize: equal to the median", startup(3), kMax, {kA, kB, kC}, {{0, 2.0}}, false},
      {"maximize: best over steps", startup(3), kMax, {kA, kB, kC}, {{0, 1.0}, {1, 1.7}}, false},
      {"NaN only: pruned", startup(3), kMin, {kA, kB, kC}, {{0, kNan}}, true},
      {"NaN only, maximize: pruned", startup(3), kMax, {kA, kB, kC}, {{0, kNan}}, true},
      {"NaN only before startup: kept", {}, kMin, {kA, kB}, {{0, kNan}}, false},
      {"NaN in the trial ignored", startup(3), kMin, {kA, kB, kC}, {{0, kNan}, {1, 1.0}}, false},
      {"NaN in completed ignored by the median",
       startup(3),
       kMin,
       {kA, kB, {{0, kNan}, {1, 2.4}}},
       {{0, 1.8}},
       true},  // median(1, 2) = 1.5
      {"NaN counts toward n_min_trials",
       startup(0).n_min_trials(2),
       kMin,
       {{{0, kNan}}, {{0, 1.0}}},
       {{0, 5.0}},
       true},
      {"all completed NaN: no median, kept",
       startup(0),
       kMin,
       {{{0, kNan}}, {{0, kNan}}},
       {{0, 5.0}},
       false},
      {"infinity pruned", startup(3), kMin, {kA, kB, kC}, {{0, kInf}}, true},
      {"no reports", startup(0), kMin, {kA}, {}, false},
      {"no completed trials", startup(0), kMin, {}, {{0, 5.0}}, false},
  };
}

TEST(MedianPruner, DecisionsMatchHandComputedMedians) {
  for (const auto& c : prune_cases()) {
    SCOPED_TRACE(c.name);
    Study study = create_study(StudyOptions()
                                   .storage_instance(std::make_shared<InMemoryStorage>())
                                   .study_name("pruner")
                                   .direction(c.direction));
    for (const auto& curve : c.completed) {
      FrozenTrial templ;
      templ.state = TrialState::kComplete;
      templ.values = {0.0};
      templ.intermediate_values = curve;
      study.storage().create_trial(study.study_id(), &templ);
    }
    FrozenTrial current;
    current.number = static_cast<int64_t>(c.completed.size());
    current.intermediate_values = c.current;
    MedianPruner pruner(c.options);
    EXPECT_EQ(pruner.prune(study, current), c.expected);
  }
}

TEST(MedianPruner, OnlyCompleteTrialsCount) {
  Study study = create_study(StudyOptions().study_name("pruner"));
  for (TrialState state : {TrialState::kPruned, TrialState::kFail, TrialState::kRunning}) {
    FrozenTrial templ;
    templ.state = state;
    templ.intermediate_values = {{0, 0.0}};
    study.storage().create_trial(study.study_id(), &templ);
  }
  FrozenTrial complete;
  complete.state = TrialState::kComplete;
  complete.values = {10.0};
  complete.intermediate_values = {{0, 10.0}};
  study.storage().create_trial(study.study_id(), &complete);
  FrozenTrial current;
  current.intermediate_values = {{0, 5.0}};
  EXPECT_FALSE(MedianPruner(startup(1)).prune(study, current));  // median 10, not 0
  current.intermediate_values = {{0, 11.0}};
  EXPECT_TRUE(MedianPruner(startup(1)).prune(study, current));
}

TEST(MedianPruner, PrunesThroughOptimize) {
  // Curves that get worse with the trial number: the later ones are pruned at step 0.
  Study study = create_study(
      StudyOptions().study_name("pruner").pruner(std::make_shared<MedianPruner>(startup(3))));
  study.optimize(
      [](Trial& t) {
        double v = 0;
        for (int64_t step = 0; step < 5; ++step) {
          v = static_cast<double>(t.number()) + 1.0 / static_cast<double>(step + 1);
          t.report(v, step);
          if (t.should_prune()) throw TrialPruned();
        }
        return v;
      },
      6);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 6u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(trials[i].state, TrialState::kComplete) << i;
  for (int i = 3; i < 6; ++i) {
    EXPECT_EQ(trials[i].state, TrialState::kPruned) << i;
    EXPECT_EQ(trials[i].intermediate_values.size(), 1u) << i;
    EXPECT_EQ(trials[i].values, std::vector<double>{static_cast<double>(i) + 1.0}) << i;
  }
}

TEST(MedianPruner, BadOptionsThrowNamingTheField) {
  struct Case {
    MedianPrunerOptions options;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {MedianPrunerOptions().n_startup_trials(-1), "n_startup_trials = -1"},
      {MedianPrunerOptions().n_warmup_steps(-2), "n_warmup_steps = -2"},
      {MedianPrunerOptions().interval_steps(0), "interval_steps = 0"},
      {MedianPrunerOptions().n_min_trials(0), "n_min_trials = 0"},
  };
  for (const auto& c : cases) {
    try {
      MedianPruner pruner(c.options);
      ADD_FAILURE() << "no throw for " << c.expected;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

// numpy's values, generated once with Debian's numpy 1.24 by
//   /usr/bin/python3 -c 'import numpy as np; print(repr(float(np.percentile(np.array(V), Q))))'
// for each row's V and Q (default method "linear"). The rows with q = 33.3 and 66.7 hit
// numpy's interpolation from the upper end (fraction >= 0.5), where a + (b - a) * t differs
// in the last bit.
struct PercentileCase {
  std::vector<double> values;
  double q;
  double numpy;
};

const PercentileCase kPercentileCases[] = {
    {{5.0}, 50.0, 5.0},
    {{1.0, 2.0}, 50.0, 1.5},
    {{3.0, 1.0, 2.0}, 50.0, 2.0},
    {{4.0, 1.0, 3.0, 2.0}, 50.0, 2.5},
    {{1.0, 2.0, 3.0, 4.0}, 0.0, 1.0},
    {{1.0, 2.0, 3.0, 4.0}, 100.0, 4.0},
    {{1.0, 2.0, 3.0, 4.0}, 25.0, 1.75},
    {{1.0, 2.0, 3.0, 4.0}, 75.0, 3.25},
    {{0.1, 0.7, 0.3}, 33.3, 0.23319999999999996},
    {{0.1, 0.7, 0.3}, 66.7, 0.4336},
    {{-2.5, 10.0, 0.0, 7.25, -1.0}, 90.0, 8.9},
    {{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}, 85.0, 0.61},
    {{1e-09, 1.0, 1000000000.0}, 60.0, 200000000.79999995},
    {{0.3, 0.1, 0.2}, 95.0, 0.29},
    {{2.0, 2.0, 2.0}, 42.0, 2.0},
};

TEST(Percentile, MatchesNumpyToTheBit) {
  for (const auto& c : kPercentileCases) {
    std::string values;
    for (double v : c.values) values += std::to_string(v) + " ";
    EXPECT_EQ(percentile(c.values, c.q), c.numpy) << "values " << values << "q " << c.q;
  }
}

}  // namespace
}  // namespace knob
