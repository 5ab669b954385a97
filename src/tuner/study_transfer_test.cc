// Warm starts in the tuner: copy_study (Optuna's copy_study), Study::add_trial(s) with their
// checks, enqueue_trial(skip_if_exists) as Optuna's _should_skip_enqueue, and
// enqueue_trials_once. On SQLite files, since copies go between two storages.
#include "knob/tuner/study_transfer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::expect_invalid;
using testing::TempDir;

FrozenTrial finished(TrialState state, std::vector<double> values,
                     std::map<std::string, std::pair<double, Distribution>> params = {}) {
  FrozenTrial t;
  t.state = state;
  t.values = std::move(values);
  for (auto& [name, p] : params) {
    t.internal_params[name] = p.first;
    t.distributions.insert_or_assign(name, p.second);
  }
  return t;
}

const Distribution kLr = FloatDistribution(1e-4, 1e-1, /*log=*/true);
const Distribution kBatch = IntDistribution(16, 512, /*log=*/true);
const Distribution kOpt = CategoricalDistribution({std::string("sgd"), std::string("adam")});

// A source study with every kind of trial content, and a RUNNING and a WAITING trial.
Study make_source(const std::string& url) {
  Study s = create_study(StudyOptions().storage(url).study_name("src").directions(
      {StudyDirection::kMinimize, StudyDirection::kMaximize}));
  s.set_user_attr("dataset", "fmnist");
  s.storage().set_study_system_attr(s.study_id(), "origin", Json("test"));
  for (int i = 0; i < 3; ++i) {
    Trial t = s.ask();
    t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
    t.suggest_categorical("opt", std::vector<std::string>{"sgd", "adam"});
    // (Trial::report is for single-objective studies; Optuna's storage takes them anyway.)
    s.storage().set_trial_intermediate_values(t.trial_id(), {{1, 0.5 + i}, {2, 0.25 + i}});
    t.set_user_attr("note", i);
    s.tell(t, i == 2 ? TrialState::kPruned : TrialState::kComplete,
           i == 2 ? ObjectiveValues{} : ObjectiveValues{1.0 * i, 2.0 * i});
  }
  s.ask();  // RUNNING
  s.enqueue_trial({{"lr", 0.001}});
  return s;
}

TEST(CopyStudyTest, CopiesDirectionsAttrsAndFinishedTrials) {
  TempDir dir;
  Study source = make_source(dir.url("a.db"));
  CopyStudyResult r = copy_study(dir.url("a.db"), "src", dir.url("b.db"), "dst");
  EXPECT_EQ(r.n_copied, 3);
  EXPECT_EQ(r.n_unfinished_skipped, 2);
  Study copy = load_study(StudyOptions().storage(dir.url("b.db")).study_name("dst"));
  EXPECT_EQ(copy.directions(), source.directions());
  EXPECT_EQ(copy.user_attrs().at("dataset"), Json("fmnist"));
  EXPECT_EQ(copy.storage().study_system_attrs(copy.study_id()).at("origin"), Json("test"));
  auto a = source.trials({TrialState::kComplete, TrialState::kPruned});
  auto b = copy.trials();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(b[i].state, a[i].state);
    EXPECT_EQ(b[i].values, a[i].values);
    EXPECT_EQ(b[i].internal_params, a[i].internal_params);
    EXPECT_EQ(b[i].distributions, a[i].distributions);
    EXPECT_EQ(b[i].intermediate_values, a[i].intermediate_values);
    EXPECT_EQ(b[i].user_attrs, a[i].user_attrs);
    EXPECT_EQ(format_datetime(*b[i].datetime_start), format_datetime(*a[i].datetime_start));
    EXPECT_EQ(format_datetime(*b[i].datetime_complete), format_datetime(*a[i].datetime_complete));
  }
}

TEST(CopyStudyTest, RefusesAnExistingNameChangingNothing) {
  TempDir dir;
  make_source(dir.url("a.db"));
  auto storage = open_storage(dir.url("a.db"));
  const int64_t before = storage->all_studies().size();
  EXPECT_THROW(copy_study(*storage, "src", *storage, "src"), AlreadyExists);
  EXPECT_THROW(copy_study(*storage, "nope", *storage, "x"), NotFound);
  EXPECT_EQ(static_cast<int64_t>(storage->all_studies().size()), before);
}

TEST(AddTrialsTest, AddsFinishedTrialsAsTheyAre) {
  Study s = create_study();
  FrozenTrial t = finished(TrialState::kComplete, {0.5}, {{"lr", {0.01, kLr}}, {"opt", {1, kOpt}}});
  t.intermediate_values = {{1, 0.9}, {2, std::numeric_limits<double>::quiet_NaN()}};
  t.user_attrs["source"] = "paper";
  t.datetime_start = parse_datetime("2024-01-02 03:04:05");
  t.datetime_complete = parse_datetime("2024-01-02 03:05:05");
  s.add_trials({t, finished(TrialState::kFail, {}), finished(TrialState::kPruned, {0.7})});
  auto trials = s.trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].params().at("opt"), ParamValue(std::string("adam")));
  EXPECT_EQ(trials[0].values, std::vector<double>{0.5});
  EXPECT_EQ(trials[0].intermediate_values.at(1), 0.9);
  EXPECT_TRUE(std::isnan(trials[0].intermediate_values.at(2)));
  EXPECT_EQ(trials[0].user_attrs.at("source"), Json("paper"));
  EXPECT_EQ(format_datetime(*trials[0].datetime_start), "2024-01-02 03:04:05.000000");
  EXPECT_TRUE(trials[1].datetime_start && trials[1].datetime_complete);  // now, as Optuna
  EXPECT_EQ(s.best_value(), 0.5);
  s.add_trial(finished(TrialState::kComplete, {0.25}, {{"lr", {0.02, kLr}}}));
  EXPECT_EQ(s.best_value(), 0.25);
  EXPECT_EQ(s.trials().back().number, 3);
}

TEST(AddTrialsTest, MalformedTrialsAddNothing) {
  Study s = create_study(StudyOptions().directions({StudyDirection::kMinimize}));
  s.add_trial(finished(TrialState::kComplete, {1.0}, {{"lr", {0.01, kLr}}}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  FrozenTrial no_distribution = finished(TrialState::kComplete, {1.0});
  no_distribution.internal_params["x"] = 1;
  struct Case {
    std::string name;
    FrozenTrial trial;
    std::vector<std::string> fragments;
  } cases[] = {
      {"running", finished(TrialState::kRunning, {}), {"trials[1]: state", "RUNNING"}},
      {"waiting", finished(TrialState::kWaiting, {}), {"state", "WAITING", "enqueue"}},
      {"too many values",
       finished(TrialState::kComplete, {1, 2}),
       {"values", "[1.0, 2.0]", "1 value"}},
      {"no value", finished(TrialState::kComplete, {}), {"values", "1 value"}},
      {"nan", finished(TrialState::kComplete, {nan}), {"values", "NaN"}},
      {"fail with value", finished(TrialState::kFail, {1}), {"values", "FAIL"}},
      {"lr above high",
       finished(TrialState::kComplete, {1}, {{"lr", {0.5, kLr}}}),
       {"params.lr", "0.5", "outside", "FloatDistribution"}},
      {"batch off range",
       finished(TrialState::kComplete, {1}, {{"batch", {8, kBatch}}}),
       {"params.batch", "8", "outside"}},
      {"choice index", finished(TrialState::kComplete, {1}, {{"opt", {5, kOpt}}}), {"params.opt"}},
      {"incompatible",
       finished(TrialState::kComplete, {1}, {{"lr", {0.5, FloatDistribution(0, 1)}}}),
       {"lr"}},
      {"no distribution", no_distribution, {"params.x", "no distribution"}},
  };
  for (const auto& c : cases) {
    // A good trial first: it must not be added either.
    expect_invalid(
        c.name,
        [&] {
          s.add_trials({finished(TrialState::kFail, {}), c.trial});
        },
        c.fragments);
    EXPECT_EQ(s.trials().size(), 1u) << c.name;
  }
}

TEST(EnqueueTest, SkipIfExistsAsOptuna) {
  Study s = create_study();
  EXPECT_TRUE(s.enqueue_trial({{"lr", 0.001}, {"batch", int64_t{32}}}, {}, true));
  // The same params, waiting (fixed_params): skipped; within numpy.isclose's rtol too.
  EXPECT_FALSE(s.enqueue_trial({{"lr", 0.001}, {"batch", int64_t{32}}}, {}, true));
  EXPECT_FALSE(s.enqueue_trial({{"lr", 0.001000001}, {"batch", int64_t{32}}}, {}, true));
  // Another value, a subset of names, an int for a float: not the same trial.
  EXPECT_TRUE(s.enqueue_trial({{"lr", 0.002}, {"batch", int64_t{32}}}, {}, true));
  EXPECT_TRUE(s.enqueue_trial({{"lr", 0.001}}, {}, true));
  EXPECT_TRUE(s.enqueue_trial({{"lr", int64_t{1}}}, {}, true));
  // Without skip_if_exists: always added.
  EXPECT_TRUE(s.enqueue_trial({{"lr", 0.001}}));
  EXPECT_EQ(s.trials({TrialState::kWaiting}).size(), 5u);
  // A finished trial's params count too.
  Trial t = s.ask();
  double lr = t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
  int64_t batch = t.suggest_int("batch", 16, 512, {.log = true});
  s.tell(t, TrialState::kComplete, {1.0});
  EXPECT_EQ(lr, 0.001);
  EXPECT_EQ(batch, 32);
  EXPECT_FALSE(params_repeat_a_trial({{"lr", 0.5}}, s.trials()));
  EXPECT_TRUE(
      params_repeat_a_trial({{"lr", std::numeric_limits<double>::quiet_NaN()}}, s.trials()));
}

TEST(EnqueueTest, EnqueueTrialsOnceEnqueuesOnce) {
  TempDir dir;
  Study a = create_study(StudyOptions().storage(dir.url("s.db")).study_name("s"));
  Study b = load_study(StudyOptions().storage(dir.url("s.db")).study_name("s"));
  const std::vector<std::map<std::string, ParamValue>> params = {{{"lr", 0.001}}, {{"lr", 0.01}}};
  EXPECT_TRUE(a.enqueue_trials_once("k", params));
  EXPECT_FALSE(b.enqueue_trials_once("k", params));
  EXPECT_EQ(b.trials({TrialState::kWaiting}).size(), 2u);
}

}  // namespace
}  // namespace knob
