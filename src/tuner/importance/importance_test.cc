// Parameter importance: rankings on synthetic objectives whose answer is known, variance
// shares of an additive objective, invariances, seeding, Optuna's ranking on the same trials
// (importance_golden.h), and malformed input in its own table.
#include "knob/tuner/importance/importance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "knob/core/random.h"
#include "testing/test_support.h"
#include "tuner/importance/importance_golden.h"

namespace knob {
namespace {

using Space = std::vector<std::pair<std::string, Distribution>>;
using Objective = std::function<double(const std::map<std::string, double>&)>;

const ImportanceEvaluator kEvaluators[] = {ImportanceEvaluator::kFanova,
                                           ImportanceEvaluator::kMeanDecreaseImpurity};

FrozenTrial make_trial(int64_t number, const Space& space, const std::vector<double>& internal,
                       std::vector<double> values) {
  FrozenTrial t;
  t.number = number;
  t.state = TrialState::kComplete;
  for (size_t i = 0; i < space.size(); ++i) {
    t.distributions.emplace(space[i].first, space[i].second);
    t.internal_params[space[i].first] = internal[i];
  }
  t.values = std::move(values);
  return t;
}

// n COMPLETE trials with parameters drawn uniformly (categoricals: a random index) and the
// objective of their internal values.
std::vector<FrozenTrial> random_trials(const Space& space, const Objective& objective, int n,
                                       uint64_t seed = 1) {
  Rng rng(seed);
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < n; ++i) {
    std::vector<double> internal;
    std::map<std::string, double> named;
    for (const auto& [name, d] : space) {
      double v;
      if (const auto* c = std::get_if<CategoricalDistribution>(&d)) {
        v = static_cast<double>(rng.uniform_int(0, static_cast<int64_t>(c->choices.size()) - 1));
      } else if (const auto* f = std::get_if<FloatDistribution>(&d)) {
        v = rng.uniform(f->low, f->high);
      } else {
        const auto& id = std::get<IntDistribution>(d);
        v = static_cast<double>(rng.uniform_int(id.low, id.high));
      }
      internal.push_back(v);
      named[name] = v;
    }
    trials.push_back(make_trial(i, space, internal, {objective(named)}));
  }
  return trials;
}

std::map<std::string, double> as_map(const std::vector<std::pair<std::string, double>>& v) {
  return {v.begin(), v.end()};
}

const Space kXyz = {{"x", FloatDistribution(-1, 1)},
                    {"y", FloatDistribution(-1, 1)},
                    {"z", FloatDistribution(0, 1)}};

double strong_x_weak_y(const std::map<std::string, double>& p) {
  return 10 * p.at("x") * p.at("x") + 0.5 * p.at("y");
}

TEST(ImportanceTest, StrongParameterFirstUnusedLast) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 100);
  for (auto evaluator : kEvaluators) {
    SCOPED_TRACE(importance_evaluator_name(evaluator));
    auto result = param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(0));
    ASSERT_EQ(result.size(), 3u);
    EXPECT_EQ(result[0].first, "x");
    EXPECT_GT(result[0].second, 0.8);
    EXPECT_EQ(result[1].first, "y");
    EXPECT_EQ(result[2].first, "z");
    double sum = 0;
    for (const auto& [name, importance] : result) {
      EXPECT_GE(importance, 0.0) << name;
      sum += importance;
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
}

// An additive objective: fANOVA's importances are the shares of the variance,
// Var(2x) : Var(w) = 4 : 1 for uniform x and w.
TEST(ImportanceTest, FanovaGivesVarianceSharesOfAnAdditiveObjective) {
  const Space space = {{"x", FloatDistribution(0, 1)}, {"w", FloatDistribution(0, 1)}};
  auto trials = random_trials(
      space, [](const auto& p) { return 2 * p.at("x") + p.at("w"); }, 400);
  auto result = as_map(param_importances(trials, ImportanceOptions().seed(0)));
  EXPECT_NEAR(result["x"], 0.8, 0.04);
  EXPECT_NEAR(result["w"], 0.2, 0.04);
}

TEST(ImportanceTest, CategoricalThatMattersComesFirst) {
  const Space space = {{"optimizer", CategoricalDistribution({ParamValue(std::string("sgd")),
                                                              ParamValue(std::string("adam")),
                                                              ParamValue(std::string("rmsprop"))})},
                       {"momentum", FloatDistribution(0, 1)},
                       {"layers", IntDistribution(1, 4)}};
  auto objective = [](const std::map<std::string, double>& p) {
    const double effect[] = {3.0, 0.0, 1.0};
    return effect[static_cast<int>(p.at("optimizer"))] + 0.1 * p.at("momentum");
  };
  auto trials = random_trials(space, objective, 120);
  for (auto evaluator : kEvaluators) {
    SCOPED_TRACE(importance_evaluator_name(evaluator));
    auto result = param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(0));
    ASSERT_EQ(result.size(), 3u);
    EXPECT_EQ(result[0].first, "optimizer");
    EXPECT_GT(result[0].second, 0.8);
  }
}

// The forest sees only the order of an unused parameter's values: an affine change of it (and
// of its bounds) changes nothing; a monotone non-linear one leaves MDI unchanged and moves
// fANOVA (which weighs cells by their width) only a little.
TEST(ImportanceTest, InvariantToMonotoneRescalingOfAnUnusedParameter) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 100);
  auto rescaled = [&](double a, double b, const std::function<double(double)>& g) {
    auto copy = trials;
    for (auto& t : copy) {
      t.distributions.at("z") = FloatDistribution(g(0.0) * a + b, g(1.0) * a + b);
      t.internal_params["z"] = g(t.internal_params["z"]) * a + b;
    }
    return copy;
  };
  auto identity = [](double v) { return v; };
  auto cube = [](double v) { return v * v * v; };
  for (auto evaluator : kEvaluators) {
    SCOPED_TRACE(importance_evaluator_name(evaluator));
    auto options = ImportanceOptions().evaluator(evaluator).seed(3);
    auto base = as_map(param_importances(trials, options));
    auto affine = as_map(param_importances(rescaled(1000.0, -7.0, identity), options));
    auto cubic = as_map(param_importances(rescaled(1.0, 0.0, cube), options));
    for (const auto& [name, importance] : base) {
      SCOPED_TRACE(name);
      EXPECT_NEAR(affine[name], importance, 1e-9);
      EXPECT_NEAR(cubic[name], importance,
                  evaluator == ImportanceEvaluator::kFanova ? 0.02 : 1e-12);
    }
  }
}

TEST(ImportanceTest, SameSeedSameResultOtherSeedOtherForest) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 60);
  for (auto evaluator : kEvaluators) {
    SCOPED_TRACE(importance_evaluator_name(evaluator));
    auto a = param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(5));
    auto b = param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(5));
    auto c = param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(6));
    EXPECT_EQ(a, b);
    EXPECT_NE(as_map(a)["y"], as_map(c)["y"]);
  }
}

TEST(ImportanceTest, ChosenObjectiveOfAMultiObjectiveStudy) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 80);
  for (auto& t : trials) t.values.push_back(std::exp(3 * t.internal_params["z"]));
  auto first = param_importances(trials, ImportanceOptions().objective(0).seed(0));
  auto second = param_importances(trials, ImportanceOptions().objective(1).seed(0));
  EXPECT_EQ(first[0].first, "x");
  EXPECT_EQ(second[0].first, "z");
  EXPECT_GT(second[0].second, 0.8);
}

// Only COMPLETE trials with every parameter and a finite value count; a parameter with one
// possible value gets 0; `params` restricts the assessment.
TEST(ImportanceTest, TrialsAndParametersThatCount) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 80);
  for (auto& t : trials) {
    t.distributions.emplace("fixed", IntDistribution(3, 3));
    t.internal_params["fixed"] = 3;
  }
  auto base = param_importances(trials, ImportanceOptions().seed(0));
  auto noisy = trials;
  FrozenTrial pruned = noisy[0], running = noisy[1], nan = noisy[2], partial = noisy[3];
  pruned.state = TrialState::kPruned;
  pruned.values = {1e9};
  running.state = TrialState::kRunning;
  nan.values = {std::numeric_limits<double>::quiet_NaN()};
  partial.distributions.erase("x");
  partial.internal_params.erase("x");
  noisy.push_back(pruned);
  noisy.push_back(running);
  noisy.push_back(nan);
  noisy.push_back(partial);  // with `params` naming x, a trial without x is not used
  auto restricted = ImportanceOptions().seed(0).params({"fixed", "x", "y", "z"});
  EXPECT_EQ(param_importances(noisy, restricted), base);
  ASSERT_EQ(base.size(), 4u);
  EXPECT_EQ(base.back(), (std::pair<std::string, double>("fixed", 0.0)));

  auto two = param_importances(trials, ImportanceOptions().seed(0).params({"z", "x"}));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].first, "x");
  EXPECT_EQ(two[1].first, "z");
  // Without `params`, the trial lacking x removes x from the assessed space.
  auto without_x = as_map(param_importances(noisy, ImportanceOptions().seed(0)));
  EXPECT_EQ(without_x.count("x"), 0u);
  EXPECT_EQ(without_x.size(), 3u);
}

TEST(ImportanceTest, NothingToAssessWhenEveryParameterIsFixed) {
  const Space space = {{"only", FloatDistribution(2, 2)}};
  auto trials = random_trials(
      space, [](const auto&) { return 1.0; }, 5);
  EXPECT_TRUE(param_importances(trials).empty());
}

// Optuna's get_param_importances on the same trials (sklearn's forest, seed 0). The forests
// differ, so values agree only roughly; the ranking agrees wherever Optuna's importances are
// clearly apart.
TEST(ImportanceTest, RankingAgreesWithOptuna) {
  for (const auto& c : golden::importance_cases()) {
    std::vector<FrozenTrial> trials;
    for (size_t i = 0; i < c.values.size(); ++i) {
      trials.push_back(make_trial(static_cast<int64_t>(i), c.space, c.params[i], {c.values[i]}));
    }
    for (auto evaluator : kEvaluators) {
      SCOPED_TRACE(std::string(c.name) + " " + importance_evaluator_name(evaluator));
      const auto& optuna =
          evaluator == ImportanceEvaluator::kFanova ? c.fanova : c.mean_decrease_impurity;
      auto knob =
          as_map(param_importances(trials, ImportanceOptions().evaluator(evaluator).seed(0)));
      ASSERT_EQ(knob.size(), optuna.size());
      for (size_t i = 0; i < optuna.size(); ++i) {
        EXPECT_NEAR(knob[optuna[i].first], optuna[i].second, 0.1) << optuna[i].first;
        for (size_t j = i + 1; j < optuna.size(); ++j) {
          if (optuna[i].second - optuna[j].second < 0.05) continue;
          EXPECT_GT(knob[optuna[i].first], knob[optuna[j].first])
              << optuna[i].first << " before " << optuna[j].first;
        }
      }
    }
  }
}

TEST(ImportanceTest, MalformedInput) {
  auto trials = random_trials(kXyz, strong_x_weak_y, 10);
  auto one = std::vector<FrozenTrial>(trials.begin(), trials.begin() + 1);
  auto running = trials;
  for (auto& t : running) t.state = TrialState::kRunning;
  auto nan = trials;
  for (size_t i = 1; i < nan.size(); ++i) nan[i].values = {std::nan("")};
  auto two_objectives = trials;
  for (auto& t : two_objectives) t.values.push_back(1.0);
  auto changed = trials;
  changed[4].distributions.at("y") = FloatDistribution(-2, 2);
  using testing::expect_invalid;
  expect_invalid("no complete trial", [&] { param_importances(running); },
                 {"trials = \"0 COMPLETE\"", "at least 2"});
  expect_invalid("one trial", [&] { param_importances(one); }, {"trials = \"1 COMPLETE\""});
  expect_invalid("one finite value", [&] { param_importances(nan); },
                 {"trials = \"1 usable\"", "finite"});
  expect_invalid("unknown parameter",
                 [&] {
                   param_importances(trials, ImportanceOptions().params({"x", "lr"}));
                 },
                 {"params = \"lr\"", "not a parameter"});
  expect_invalid("changed distribution",
                 [&] { param_importances(changed, ImportanceOptions().params({"y"})); },
                 {"params = \"y\"", "differs", "trial 4"});
  expect_invalid("multi-objective without objective", [&] { param_importances(two_objectives); },
                 {"objective = \"(none)\"", "2 objective value(s)", "0 to 1"});
  expect_invalid("objective out of range",
                 [&] { param_importances(trials, ImportanceOptions().objective(1)); },
                 {"objective = 1", "0 to 0"});
  expect_invalid("no trees", [&] { param_importances(trials, ImportanceOptions().n_trees(0)); },
                 {"n_trees = 0", ">= 1"});
  expect_invalid("no depth", [&] { param_importances(trials, ImportanceOptions().max_depth(0)); },
                 {"max_depth = 0", ">= 1"});
}

}  // namespace
}  // namespace knob
