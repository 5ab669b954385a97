#include "knob/tuner/search_space.h"

#include <gtest/gtest.h>

#include <set>

#include "knob/core/error.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "testing/sampler_testing.h"
#include "testing/test_support.h"

namespace knob {
namespace {

std::vector<SearchParam> optimizer_space() {
  std::vector<SearchParam> space = {
      {"momentum", FloatDistribution(0.5, 0.99), {{"kind", {std::string("sgd")}}}},
      {"units2", IntDistribution(8, 64), {{"layers", {int64_t{2}, int64_t{3}}}}},
      {"kind", CategoricalDistribution({std::string("sgd"), std::string("adam")})},
      {"layers", IntDistribution(1, 3)},
      {"lr", FloatDistribution(1e-4, 1e-1, true)},
  };
  order_search_space(space);
  return space;
}

TEST(SearchSpaceTest, OrdersParentsFirstKeepingTheGivenOrderOtherwise) {
  std::vector<std::string> names;
  for (const auto& p : optimizer_space()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"kind", "momentum", "layers", "units2", "lr"}));
}

// Each trial has exactly the parameters whose conditions hold, under a model-based sampler too
// (TPE's conditional groups), and both branches of each condition are explored.
TEST(SearchSpaceTest, SuggestsOnlyTheParametersWhoseConditionsHold) {
  const auto space = optimizer_space();
  for (auto sampler : {std::shared_ptr<Sampler>(std::make_shared<RandomSampler>(1)),
                       std::shared_ptr<Sampler>(std::make_shared<TpeSampler>(
                           TpeOptions().seed(1).n_startup_trials(5).multivariate(true)))}) {
    Study study = testing::study_with(sampler);
    std::set<std::string> kinds;
    std::set<int64_t> layers;
    study.optimize(
        [&](Trial& trial) {
          auto params = suggest_params(trial, space);
          const auto& kind = std::get<std::string>(params.at("kind"));
          const int64_t n = std::get<int64_t>(params.at("layers"));
          kinds.insert(kind);
          layers.insert(n);
          EXPECT_EQ(params.count("momentum"), kind == "sgd" ? 1u : 0u);
          EXPECT_EQ(params.count("units2"), n >= 2 ? 1u : 0u);
          EXPECT_EQ(params.size(), 3 + params.count("momentum") + params.count("units2"));
          EXPECT_EQ(trial.params().size(), params.size());  // nothing else was suggested
          return std::get<double>(params.at("lr")) + (kind == "sgd" ? 0.0 : 1.0);
        },
        30);
    EXPECT_EQ(kinds.size(), 2u);
    EXPECT_EQ(layers.size(), 3u);
  }
}

TEST(SearchSpaceTest, MalformedSpacesAreNamed) {
  struct Case {
    std::string name;
    std::vector<SearchParam> space;
    std::vector<std::string> fragments;
  };
  const auto kind = CategoricalDistribution({std::string("sgd"), std::string("adam")});
  const std::vector<Case> cases = {
      {"twice", {{"x", IntDistribution(1, 2)}, {"x", IntDistribution(1, 3)}}, {"search.x", "once"}},
      {"unknown parent",
       {{"x", IntDistribution(1, 2), {{"kind", {std::string("sgd")}}}}},
       {"search.x.when.kind", "another parameter"}},
      {"value not a choice",
       {{"kind", kind}, {"x", IntDistribution(1, 2), {{"kind", {std::string("rmsprop")}}}}},
       {"search.x.when.kind", "rmsprop", "sgd, adam"}},
      {"int off its step",
       {{"n", IntDistribution(0, 8, false, 2)},
        {"x", IntDistribution(1, 2), {{"n", {int64_t{3}}}}}},
       {"search.x.when.n", "3", "step"}},
      {"string for an int",
       {{"n", IntDistribution(0, 8)}, {"x", IntDistribution(1, 2), {{"n", {std::string("3")}}}}},
       {"search.x.when.n", "3"}},
      {"circle",
       {{"a", kind, {{"b", {std::string("sgd")}}}}, {"b", kind, {{"a", {std::string("sgd")}}}}},
       {"search", "a, b", "circle"}},
  };
  for (auto c : cases)
    testing::expect_invalid(
        c.name, [&] { order_search_space(c.space); }, c.fragments);
}

}  // namespace
}  // namespace knob
