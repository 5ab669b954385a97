// GpSampler: better than random on Branin, reproducible under a seed, every kind of
// distribution, conditional spaces, trials that are not observations, two samplers sharing
// one SQLite study, multi-objective fallback, and malformed options.
#include "knob/tuner/samplers/gp_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/study.h"
#include "testing/sampler_testing.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::branin;
using testing::kBraninMin;
using testing::median;
using testing::median_branin_regrets;
using testing::mixed;
using testing::params_of;
using testing::study_with;

TEST(GpSampler, BeatsRandomOnBraninIn40Trials) {
  auto r = median_branin_regrets(
      [](uint64_t seed) { return std::make_shared<GpSampler>(GpOptions().seed(seed)); }, 40, 5);
  // Measured here: a median regret of about 1e-4 for the GP, 0.5 for random.
  EXPECT_LT(r.sampler, 0.05 * r.random) << r.sampler << " vs " << r.random;
  EXPECT_LT(r.sampler, 0.01);
}

TEST(GpSampler, MaximizeIsHandledByNegation) {
  auto study = create_study(StudyOptions()
                                .direction(StudyDirection::kMaximize)
                                .sampler(std::make_shared<GpSampler>(GpOptions().seed(3))));
  study.optimize([](Trial& t) { return -branin(t); }, 30);
  EXPECT_LT(-study.best_value() - kBraninMin, 0.5);
}

TEST(GpSampler, SameSeedSameTrials) {
  auto options = GpOptions().seed(7).n_startup_trials(5).n_candidates(256);
  auto a = study_with(std::make_shared<GpSampler>(options));
  auto b = study_with(std::make_shared<GpSampler>(options));
  auto c = study_with(std::make_shared<GpSampler>(GpOptions(options).seed(8)));
  a.optimize(mixed, 15);
  b.optimize(mixed, 15);
  c.optimize(mixed, 15);
  EXPECT_EQ(params_of(a), params_of(b));
  EXPECT_NE(params_of(a), params_of(c));
}

TEST(GpSampler, EveryKindOfDistributionStaysInRangeAndLearns) {
  for (bool deterministic : {false, true}) {
    SCOPED_TRACE(deterministic ? "deterministic" : "noisy");
    auto study = study_with(
        std::make_shared<GpSampler>(GpOptions().seed(1).deterministic_objective(deterministic)));
    study.optimize(mixed, 40);
    auto trials = study.trials();
    ASSERT_EQ(trials.size(), 40u);
    int adam_late = 0;
    for (const auto& t : trials) {
      ASSERT_EQ(t.state, TrialState::kComplete);
      for (const auto& [name, value] : t.internal_params) {
        EXPECT_TRUE(contains(t.distributions.at(name), value)) << name << " = " << value;
      }
      if (t.number >= 20) adam_late += std::get<std::string>(t.param("opt")) == "adam";
    }
    // Random picks "adam" a quarter of the time (5 of 20); the GP learns it is 2 better.
    EXPECT_GT(adam_late, 10);
    EXPECT_LT(study.best_value(), 3.0);
  }
}

// Two branches with parameters of their own: each appears only in some trials.
double conditional(Trial& t) {
  auto kind = t.suggest_categorical<std::string>("kind", {"a", "b"});
  const double common = t.suggest_float("common", -5, 5);
  if (kind == "a") {
    double x = t.suggest_float("a_x", -10, 10);
    return 1.0 + 0.01 * x * x + common * common;
  }
  double y = t.suggest_float("b_y", -10, 10);
  return 3.0 + 0.01 * (y - 3) * (y - 3) + common * common;
}

TEST(GpSampler, ConditionalSpaces) {
  auto sampler = std::make_shared<GpSampler>(GpOptions().seed(2));
  auto study = study_with(sampler);
  study.optimize(conditional, 40);
  int a = 0, b = 0;
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete);
    const bool is_a = std::get<std::string>(t.param("kind")) == "a";
    (is_a ? a : b) += 1;
    EXPECT_EQ(t.internal_params.size(), 3u);
    EXPECT_EQ(t.internal_params.count(is_a ? "a_x" : "b_y"), 1u);
  }
  // The GP models the parameters every trial has; a_x and b_y are drawn at random.
  auto space = sampler->infer_relative_search_space(study, study.trials().back());
  ASSERT_EQ(space.size(), 2u);
  EXPECT_EQ(space.count("kind"), 1u);
  EXPECT_EQ(space.count("common"), 1u);
  // The GP learns |common| small (random: a median of 2.5) and branch a (best 1).
  std::vector<double> common_late;
  for (const auto& t : study.trials()) {
    if (t.number >= 20) common_late.push_back(std::abs(std::get<double>(t.param("common"))));
  }
  EXPECT_LT(median(common_late), 1.0);
  EXPECT_GT(a, b);
  EXPECT_LT(study.best_value(), 1.5);
}

TEST(GpSampler, OnlyCompleteTrialsWithAFiniteValueAreObservations) {
  // 12 trials that are not observations: the sampler is still in its random start-up and
  // models nothing (the space it infers holds only COMPLETE trials' parameters).
  auto sampler = std::make_shared<GpSampler>(GpOptions().seed(4).n_startup_trials(3));
  auto study = study_with(sampler);
  for (int i = 0; i < 12; ++i) {
    Trial t = study.ask();
    const double x = t.suggest_float("x", -5, 5);
    if (i % 3 == 0) {
      t.report(x, 0);
      study.tell(t, TrialState::kPruned);
    } else if (i % 3 == 1) {
      study.tell(t, TrialState::kFail);
    } else {
      study.tell(t, TrialState::kComplete, {std::numeric_limits<double>::infinity()});
    }
  }
  Trial probe = study.ask();
  auto space = sampler->infer_relative_search_space(study, study.storage().trial(probe.trial_id()));
  EXPECT_EQ(space.size(), 1u);  // the infinite COMPLETE trials define the space...
  EXPECT_TRUE(
      sampler->sample_relative(study, study.storage().trial(probe.trial_id()), space).empty());
  study.tell(probe, TrialState::kFail);
  // ...and with finite values the GP takes over and finds the minimum.
  study.optimize(
      [](Trial& t) {
        const double x = t.suggest_float("x", -5, 5);
        return (x - 1) * (x - 1);
      },
      15);
  EXPECT_LT(study.best_value(), 1e-2);
}

TEST(GpSampler, TwoSamplersShareOneSqliteStudy) {
  // Like two processes: each sampler sees the trials the other one told.
  testing::TempDir dir;
  const std::string path = dir.file("shared.db");
  auto a_sampler = std::make_shared<GpSampler>(GpOptions().seed(1));
  auto b_sampler = std::make_shared<GpSampler>(GpOptions().seed(2));
  auto a = study_with(a_sampler, std::make_shared<SqliteStorage>(path), "shared");
  auto b = study_with(b_sampler, std::make_shared<SqliteStorage>(path), "shared");
  b.optimize(branin, 10);  // only b's trials so far
  Trial t = a.ask();
  const FrozenTrial snapshot = a.storage().trial(t.trial_id());
  auto space = a_sampler->infer_relative_search_space(a, snapshot);
  EXPECT_EQ(space.size(), 2u);
  EXPECT_EQ(a_sampler->sample_relative(a, snapshot, space).size(), 2u);  // b's 10 trials count
  a.tell(t, TrialState::kComplete, {branin(t)});
  for (int i = 0; i < 8; ++i) {
    a.optimize(branin, 2);
    b.optimize(branin, 2);
  }
  EXPECT_EQ(a.trials().size(), 43u);
  EXPECT_LT(a.best_value() - kBraninMin, 0.5);
}

TEST(GpSampler, MultiObjectiveStudiesAreSampledAtRandom) {
  auto sampler = std::make_shared<GpSampler>(GpOptions().seed(1).n_startup_trials(2));
  auto study = create_study(StudyOptions()
                                .directions({StudyDirection::kMinimize, StudyDirection::kMinimize})
                                .sampler(sampler));
  study.optimize(
      [](Trial& t) {
        double x = t.suggest_float("x", 0, 1);
        return std::vector<double>{x, 1 - x};
      },
      20);
  EXPECT_EQ(study.trials().size(), 20u);
  EXPECT_TRUE(sampler->infer_relative_search_space(study, study.trials().back()).empty());
}

// ------------------------------------------------------------------ malformed options

TEST(GpSamplerMalformed, OptionsNameTheFieldAndWhatIsAllowed) {
  struct Row {
    GpOptions options;
    const char* field;
    const char* allowed;
  };
  const std::vector<Row> rows = {
      {GpOptions().n_startup_trials(-1), "n_startup_trials", ">= 0"},
      {GpOptions().n_candidates(0), "n_candidates", ">= 1"},
      {GpOptions().n_local_search(-2), "n_local_search", ">= 0"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.field);
    try {
      GpSampler sampler(row.options);
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      testing::expect_contains(e.what(), {row.field, row.allowed});
    }
  }
}

}  // namespace
}  // namespace knob
