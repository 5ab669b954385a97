// TpeSampler and GpSampler under a HyperbandPruner (BOHB-like): the model for a trial sees
// only its bracket's trials (brackets with disjoint good regions; Optuna 3.1's observation
// counts replayed; an "auto" max_resource that splits the trials once known), one bracket is
// the plain study, and TPE beats random search inside Hyperband on a learning curve.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/samplers/gp_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "knob/tuner/study.h"
#include "testing/sampler_testing.h"
#include "tuner/samplers/bohb_golden.h"

namespace knob {
namespace {

using testing::median;
using testing::mixed;
using testing::params_of;

Study study_with(std::shared_ptr<Sampler> sampler, std::shared_ptr<Pruner> pruner,
                 const std::string& name = "bohb") {
  return create_study(StudyOptions()
                          .storage_instance(std::make_shared<InMemoryStorage>())
                          .study_name(name)
                          .sampler(std::move(sampler))
                          .pruner(std::move(pruner)));
}

// TpeOptions whose gamma records, for each asked trial, how many finished trials the model
// had (gamma(n) is called once per asked trial with n = that count).
struct CountingTpe {
  std::shared_ptr<int64_t> asking = std::make_shared<int64_t>(-1);
  std::shared_ptr<std::map<int64_t, int>> n_seen = std::make_shared<std::map<int64_t, int>>();

  TpeOptions options() const {
    return TpeOptions().gamma([asking = asking, n_seen = n_seen](int n) {
      (*n_seen)[*asking] = n;
      return default_gamma(n);
    });
  }
};

// Each bracket has its own optimum, far from the others': a model that mixed brackets would
// put a good part of its samples near the other brackets' optima. Runs `n_trials` with
// `make(seed)` for three seeds and checks the second half.
void expect_each_bracket_finds_its_optimum(
    const std::function<std::shared_ptr<Sampler>(uint64_t)>& make, int64_t n_trials) {
  const std::vector<double> target = {0.1, 0.5, 0.9};
  for (uint64_t seed : {1, 2, 3}) {
    auto pruner = std::make_shared<HyperbandPruner>(
        HyperbandPrunerOptions().min_resource(1).max_resource(9).reduction_factor(3));
    ASSERT_EQ(pruner->n_brackets(), 3);
    auto study = study_with(make(seed), pruner);
    study.optimize(
        [&](Trial& t) {
          const double x = t.suggest_float("x", 0, 1);
          return std::abs(x - target[pruner->bracket_of(study.study_name(), t.number())]);
        },
        n_trials);
    std::vector<int> near(3), late(3), other(3);
    for (const auto& t : study.trials()) {
      if (t.number < n_trials / 2) continue;
      const auto b = static_cast<size_t>(pruner->bracket_of(study, t));
      ++late[b];
      const double x = t.internal_params.at("x");
      near[b] += std::abs(x - target[b]) < 0.1;
      for (size_t o = 0; o < 3; ++o) other[b] += o != b && std::abs(x - target[o]) < 0.1;
    }
    for (size_t b = 0; b < 3; ++b) {
      ASSERT_GT(late[b], 5) << "seed " << seed << " bracket " << b;
      EXPECT_GT(near[b], 0.4 * late[b]) << "seed " << seed << " bracket " << b << ": " << near[b]
                                        << " of " << late[b] << " trials near " << target[b];
      EXPECT_LT(other[b], 0.2 * late[b]) << "seed " << seed << " bracket " << b << ": " << other[b]
                                         << " of " << late[b] << " trials near another optimum";
    }
  }
}

TEST(TpeUnderHyperband, ModelSeesOnlyItsBracket) {
  // Seen here: at least 9 of 17 late trials near the bracket's optimum and at most 2 near
  // another's; with all trials in one model: as few as 0 of 21, and up to 20 near another's.
  expect_each_bracket_finds_its_optimum(
      [](uint64_t seed) {
        return std::make_shared<TpeSampler>(TpeOptions().seed(seed).n_startup_trials(5));
      },
      150);
}

TEST(GpUnderHyperband, ModelSeesOnlyItsBracket) {
  expect_each_bracket_finds_its_optimum(
      [](uint64_t seed) {
        return std::make_shared<GpSampler>(GpOptions().seed(seed).n_startup_trials(5));
      },
      90);
}

TEST(TpeUnderHyperband, SeesAsManyTrialsAsOptunaInEachBracket) {
  // Optuna 3.1's trials (states, reports) replayed: at each trial, knob's TPE has as many
  // observations as Optuna's had (the finished trials of the trial's bracket).
  const auto golden = golden::bohb_trials();
  CountingTpe counting;
  auto pruner =
      std::make_shared<HyperbandPruner>(HyperbandPrunerOptions()
                                            .min_resource(golden::kBohbMinResource)
                                            .max_resource(golden::kBohbMaxResource)
                                            .reduction_factor(golden::kBohbReductionFactor));
  auto study = study_with(std::make_shared<TpeSampler>(counting.options().seed(3).n_startup_trials(
                              golden::kBohbStartupTrials)),
                          pruner, golden::kBohbStudyName);
  std::vector<int64_t> brackets_seen;
  for (const auto& g : golden) {
    Trial t = study.ask();
    ASSERT_EQ(t.number(), g.number);
    EXPECT_EQ(pruner->bracket_of(study.study_name(), g.number), g.bracket) << "trial " << g.number;
    *counting.asking = g.number;
    t.suggest_float("x", golden::kBohbLow, golden::kBohbHigh);
    ASSERT_TRUE(counting.n_seen->count(g.number)) << "trial " << g.number;
    EXPECT_EQ(counting.n_seen->at(g.number), static_cast<int>(g.observed.size()))
        << "trial " << g.number << " (bracket " << g.bracket << ")";
    for (size_t step = 0; step < g.intermediate.size(); ++step) {
      t.report(g.intermediate[step], static_cast<int64_t>(step));
    }
    if (g.pruned) {
      study.tell(t, TrialState::kPruned);
    } else {
      study.tell(t, TrialState::kComplete, {g.value});
    }
    brackets_seen.push_back(g.bracket);
  }
  // The replay covers every bracket, and pruned trials.
  for (int64_t b = 0; b < pruner->n_brackets(); ++b) {
    EXPECT_TRUE(std::count(brackets_seen.begin(), brackets_seen.end(), b)) << b;
  }
  EXPECT_TRUE(std::any_of(golden.begin(), golden.end(), [](const auto& g) { return g.pruned; }));
}

// A learning curve: the value at step s is the final value (Branin of the parameters) plus a
// gap that shrinks with s, wider for some parameters, so early ranks are only roughly right.
double learning_curve(Trial& t, int64_t steps) {
  const double x = t.suggest_float("x", -5, 10);
  const double y = t.suggest_float("y", 0, 15);
  const double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, s = 10, tt = 1 / (8 * M_PI);
  const double final = std::pow(y - b * x * x + c * x - 6, 2) + s * (1 - tt) * std::cos(x) + s;
  const double gap = 20.0 * (1.0 + 0.5 * std::sin(x + y));
  for (int64_t step = 0; step < steps; ++step) {
    t.report(final + gap / static_cast<double>(step + 1), step);
    if (t.should_prune()) throw TrialPruned();
  }
  return final;
}

TEST(TpeUnderHyperband, AutoMaxResourceSplitsTheTrialsOnceTheBracketsExist) {
  // Before the first trial completes all trials are in bracket 0; afterwards each ask sees
  // exactly the finished trials of its bracket, counted here from the storage.
  CountingTpe counting;
  auto pruner = std::make_shared<HyperbandPruner>(
      HyperbandPrunerOptions().min_resource(1).reduction_factor(3));
  auto study = study_with(
      std::make_shared<TpeSampler>(counting.options().seed(5).n_startup_trials(4)), pruner);
  std::map<int64_t, int> expected;
  study.optimize(
      [&](Trial& t) {
        const int64_t bracket = pruner->bracket_of(study.study_name(), t.number());
        int n = 0;
        for (const auto& f : study.trials({TrialState::kComplete, TrialState::kPruned})) {
          n += pruner->bracket_of(study, f) == bracket;
        }
        expected[t.number()] = n;
        *counting.asking = t.number();
        return learning_curve(t, 27);
      },
      60);
  EXPECT_EQ(pruner->n_brackets(), 4);
  EXPECT_EQ(*counting.n_seen, expected);
  EXPECT_GT(study.trials({TrialState::kPruned}).size(), 0u);
}

TEST(TpeUnderHyperband, OneBracketIsTheWholeStudy) {
  // With min_resource == max_resource there is one bracket: the same trials as without
  // Hyperband.
  for (bool multivariate : {false, true}) {
    auto options = TpeOptions().seed(9).n_startup_trials(5).multivariate(multivariate);
    auto a = study_with(std::make_shared<TpeSampler>(options), std::make_shared<NopPruner>());
    auto b = study_with(std::make_shared<TpeSampler>(options),
                        std::make_shared<HyperbandPruner>(
                            HyperbandPrunerOptions().min_resource(4).max_resource(4)));
    a.optimize(mixed, 30);
    b.optimize(mixed, 30);
    EXPECT_EQ(params_of(a), params_of(b)) << "multivariate " << multivariate;
  }
}

TEST(GpUnderHyperband, OneBracketIsTheWholeStudy) {
  auto options = GpOptions().seed(9).n_startup_trials(5);
  auto a = study_with(std::make_shared<GpSampler>(options), std::make_shared<NopPruner>());
  auto b = study_with(
      std::make_shared<GpSampler>(options),
      std::make_shared<HyperbandPruner>(HyperbandPrunerOptions().min_resource(4).max_resource(4)));
  a.optimize(testing::branin, 20);
  b.optimize(testing::branin, 20);
  EXPECT_EQ(params_of(a), params_of(b));
}

TEST(TpeUnderHyperband, BeatsRandomUnderHyperbandOnALearningCurve) {
  std::vector<double> tpe, random;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    auto run = [&](std::shared_ptr<Sampler> sampler) {
      auto study = study_with(std::move(sampler),
                              std::make_shared<HyperbandPruner>(
                                  HyperbandPrunerOptions().min_resource(1).max_resource(27)));
      study.optimize([](Trial& t) { return learning_curve(t, 27); }, 150);
      return study.best_value() - testing::kBraninMin;
    };
    tpe.push_back(run(std::make_shared<TpeSampler>(TpeOptions().seed(seed).n_startup_trials(5))));
    random.push_back(run(std::make_shared<RandomSampler>(seed)));
  }
  RecordProperty("median_regret_tpe", std::to_string(median(tpe)));
  RecordProperty("median_regret_random", std::to_string(median(random)));
  std::cout << "median regret over 10 seeds, 150 trials: TPE+Hyperband " << median(tpe)
            << ", Random+Hyperband " << median(random) << "\n";
  EXPECT_LE(median(tpe), median(random));
}

}  // namespace
}  // namespace knob
