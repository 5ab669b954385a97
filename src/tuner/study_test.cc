// Study and Trial: define-by-run suggestions, reports, optimize() (trials, timeout, threads,
// failures), ask-and-tell, enqueued trials, best trials and the study life cycle — each
// behaviour as Optuna defines it. Storage-independent tests run on both InMemoryStorage and
// SqliteStorage(":memory:").
#include "knob/tuner/study.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/core/random.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::TempDir;

// Runs `fn`, expects it to throw E, and returns the message (empty on failure).
template <typename E>
std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw another exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

const char* const kBackends[] = {"memory", "sqlite"};

std::shared_ptr<Storage> make_storage(const std::string& backend) {
  if (backend == "sqlite") return std::make_shared<SqliteStorage>(":memory:");
  return std::make_shared<InMemoryStorage>();
}

class StudyTest : public ::testing::TestWithParam<const char*> {
 protected:
  Study make_study(StudyOptions options = {}) {
    if (!options.storage_instance()) options.storage_instance(make_storage(GetParam()));
    if (options.study_name().empty()) options.study_name("test");
    if (!options.sampler()) options.sampler(std::make_shared<RandomSampler>(1234));
    return create_study(options);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StudyTest, ::testing::ValuesIn(kBackends));

// ------------------------------------------------------------------ suggest

TEST_P(StudyTest, SuggestedValuesLieInTheirDomainsAndAreStored) {
  Study study = make_study();
  for (int i = 0; i < 30; ++i) {
    Trial trial = study.ask();
    double x = trial.suggest_float("x", -2.0, 3.0);
    double lr = trial.suggest_float("lr", 1e-5, 1e-1, {.log = true});
    double dropout = trial.suggest_float("dropout", 0.0, 0.5, {.step = 0.1});
    int64_t layers = trial.suggest_int("layers", 1, 4);
    int64_t batch = trial.suggest_int("batch", 16, 512, {.log = true});
    int64_t units = trial.suggest_int("units", 32, 256, {.step = 32});
    ParamValue act =
        trial.suggest_categorical("act", {ParamValue(std::string("relu")), ParamValue(int64_t{3}),
                                          ParamValue(0.5), ParamValue(true), ParamValue()});
    std::string opt = trial.suggest_categorical<std::string>("opt", {"sgd", "adam"});
    int epochs = trial.suggest_categorical<int>("epochs", {10, 20, 30});
    double wd = trial.suggest_categorical<double>("wd", {0.0, 1e-4});
    bool nesterov = trial.suggest_categorical<bool>("nesterov", {false, true});

    EXPECT_TRUE(-2.0 <= x && x <= 3.0) << x;
    EXPECT_TRUE(1e-5 <= lr && lr <= 1e-1) << lr;
    EXPECT_NEAR(std::remainder(dropout, 0.1), 0.0, 1e-9) << dropout;
    EXPECT_TRUE(0.0 <= dropout && dropout <= 0.5) << dropout;
    EXPECT_TRUE(1 <= layers && layers <= 4) << layers;
    EXPECT_TRUE(16 <= batch && batch <= 512) << batch;
    EXPECT_EQ((units - 32) % 32, 0) << units;
    EXPECT_TRUE(32 <= units && units <= 256) << units;
    EXPECT_TRUE(opt == "sgd" || opt == "adam") << opt;
    EXPECT_TRUE(epochs == 10 || epochs == 20 || epochs == 30) << epochs;
    EXPECT_TRUE(wd == 0.0 || wd == 1e-4) << wd;
    (void)nesterov;

    // What the objective saw is what the storage holds.
    FrozenTrial stored = study.storage().trial(trial.trial_id());
    ASSERT_EQ(stored.params().size(), 11u);
    EXPECT_EQ(stored.param("x"), ParamValue(x));
    EXPECT_EQ(stored.param("lr"), ParamValue(lr));
    EXPECT_EQ(stored.param("batch"), ParamValue(batch));
    EXPECT_EQ(stored.param("act"), act);
    EXPECT_EQ(stored.param("opt"), ParamValue(opt));
    EXPECT_EQ(stored.param("epochs"), ParamValue(int64_t{epochs}));
    EXPECT_EQ(stored.param("nesterov"), ParamValue(nesterov));
    EXPECT_EQ(stored.params(), trial.params());
    EXPECT_EQ(stored.distributions.at("lr"), Distribution(FloatDistribution(1e-5, 1e-1, true)));
    EXPECT_EQ(stored.distributions.at("units"), Distribution(IntDistribution(32, 256, false, 32)));
    study.tell(trial, TrialState::kComplete, {x});
  }
}

TEST_P(StudyTest, SingleValuedDistributionsNeedNoSampler) {
  Study study = make_study();
  Trial trial = study.ask();
  EXPECT_EQ(trial.suggest_float("a", 2.5, 2.5), 2.5);
  EXPECT_EQ(trial.suggest_int("b", 7, 7), 7);
  EXPECT_EQ(trial.suggest_categorical<std::string>("c", {"only"}), "only");
}

TEST_P(StudyTest, SameNameTwiceInOneTrialReturnsTheSameValue) {
  Study study = make_study();
  for (int i = 0; i < 10; ++i) {
    Trial trial = study.ask();
    double x = trial.suggest_float("x", 0.0, 1.0);
    EXPECT_EQ(trial.suggest_float("x", 0.0, 1.0), x);
    // A compatible distribution with another range still returns the first value (Optuna).
    EXPECT_EQ(trial.suggest_float("x", 5.0, 6.0), x);
    int64_t n = trial.suggest_int("n", 0, 1000);
    EXPECT_EQ(trial.suggest_int("n", 0, 1000), n);
    auto c = trial.suggest_categorical<std::string>("c", {"a", "b", "c", "d"});
    EXPECT_EQ(trial.suggest_categorical<std::string>("c", {"a", "b", "c", "d"}), c);
    EXPECT_EQ(study.storage().trial(trial.trial_id()).params().size(), 3u);
    study.tell(trial, TrialState::kComplete, {x});
  }
}

TEST_P(StudyTest, SameNameWithIncompatibleDistributionThrowsNamingTheParameter) {
  struct Case {
    const char* what;
    std::function<void(Trial&)> first, second;
  };
  const std::vector<Case> cases = {
      {"float then int", [](Trial& t) { t.suggest_float("width", 0, 10); },
       [](Trial& t) { t.suggest_int("width", 0, 10); }},
      {"int then categorical", [](Trial& t) { t.suggest_int("width", 0, 10); },
       [](Trial& t) {
         t.suggest_categorical<int>("width", {1, 2});
       }},
      {"log flag changes", [](Trial& t) { t.suggest_float("width", 1, 10, {.log = true}); },
       [](Trial& t) { t.suggest_float("width", 1, 10); }},
      {"choices change",
       [](Trial& t) {
         t.suggest_categorical<std::string>("width", {"a", "b"});
       },
       [](Trial& t) {
         t.suggest_categorical<std::string>("width", {"a", "c"});
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    {  // within one trial
      Study study = make_study();
      Trial trial = study.ask();
      c.first(trial);
      std::string message = message_of<InvalidArgument>([&] { c.second(trial); });
      expect_contains(message, {"width"});
    }
    {  // across trials of one study (the storage's rule)
      Study study = make_study();
      Trial first = study.ask();
      c.first(first);
      study.tell(first, TrialState::kComplete, {0.0});
      Trial second = study.ask();
      std::string message = message_of<InvalidArgument>([&] { c.second(second); });
      expect_contains(message, {"width"});
    }
  }
}

TEST_P(StudyTest, BadBoundsThrowNamingParameterFieldAndValue) {
  struct Case {
    std::function<void(Trial&)> suggest;
    std::vector<std::string> expected;  // parameter name, field, value
  };
  const std::vector<Case> cases = {
      {[](Trial& t) { t.suggest_float("lr", 1.5, 0.5); }, {"'lr'", "low = 1.5", "high"}},
      {[](Trial& t) { t.suggest_float("lr", 0.0, 1.0, {.log = true}); },
       {"'lr'", "low = 0", "log"}},
      {[](Trial& t) { t.suggest_float("lr", -1.0, 1.0, {.log = true}); }, {"'lr'", "low = -1"}},
      {[](Trial& t) { t.suggest_float("drop", 0.0, 1.0, {.step = -0.25}); },
       {"'drop'", "step = -0.25"}},
      {[](Trial& t) { t.suggest_float("drop", 0.0, 1.0, {.step = 0.0}); }, {"'drop'", "step = 0"}},
      {[](Trial& t) { t.suggest_float("drop", 1.0, 2.0, {.step = 0.5, .log = true}); },
       {"'drop'", "step = 0.5"}},
      {[](Trial& t) { t.suggest_float("x", -INFINITY, 1.0); }, {"'x'", "low = -inf"}},
      {[](Trial& t) { t.suggest_float("x", 0.0, NAN); }, {"'x'", "high = nan"}},
      {[](Trial& t) { t.suggest_int("layers", 5, 1); }, {"'layers'", "low = 5", "high"}},
      {[](Trial& t) { t.suggest_int("batch", 0, 512, {.log = true}); }, {"'batch'", "low = 0"}},
      {[](Trial& t) { t.suggest_int("units", 1, 10, {.step = 0}); }, {"'units'", "step = 0"}},
      {[](Trial& t) { t.suggest_int("units", 1, 10, {.step = -2}); }, {"'units'", "step = -2"}},
      {[](Trial& t) { t.suggest_int("units", 1, 10, {.step = 2, .log = true}); },
       {"'units'", "step = 2"}},
      {[](Trial& t) { t.suggest_categorical("opt", std::vector<ParamValue>{}); },
       {"'opt'", "choices"}},
  };
  Study study = make_study();
  Trial trial = study.ask();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    std::string message = message_of<InvalidArgument>([&] { cases[i].suggest(trial); });
    expect_contains(message, cases[i].expected);
  }
  // Nothing was recorded for the rejected suggestions.
  EXPECT_TRUE(study.storage().trial(trial.trial_id()).params().empty());
  expect_contains(message_of<InvalidArgument>([&] { trial.suggest_float("", 0, 1); }),
                  {"parameter name"});
}

// ------------------------------------------------------------------ report, prune, attrs

TEST_P(StudyTest, ReportStoresIntermediateValuesFirstReportOfAStepWins) {
  Study study = make_study(StudyOptions().pruner(std::make_shared<NopPruner>()));
  Trial trial = study.ask();
  trial.report(0.9, 0);
  trial.report(0.7, 1);
  trial.report(0.1, 1);  // ignored, as in Optuna
  trial.report(0.5, 5);
  EXPECT_FALSE(trial.should_prune());
  std::map<int64_t, double> expected = {{0, 0.9}, {1, 0.7}, {5, 0.5}};
  EXPECT_EQ(trial.snapshot().intermediate_values, expected);
  expect_contains(message_of<InvalidArgument>([&] { trial.report(1.0, -1); }), {"step", "-1"});
  // Stored by the time the trial is told (reports may reach the storage in batches).
  study.tell(trial, TrialState::kComplete, {0.5});
  EXPECT_EQ(study.storage().trial(trial.trial_id()).intermediate_values, expected);
}

TEST_P(StudyTest, ShouldPruneAsksTheStudysPruner) {
  Study study = make_study(StudyOptions().pruner(
      std::make_shared<MedianPruner>(MedianPrunerOptions().n_startup_trials(1))));
  Trial good = study.ask();
  good.report(1.0, 0);
  EXPECT_FALSE(good.should_prune());  // no completed trial yet
  study.tell(good, TrialState::kComplete, {1.0});

  Trial worse = study.ask();
  worse.report(2.0, 0);
  EXPECT_TRUE(worse.should_prune());
  Trial better = study.ask();
  better.report(0.5, 0);
  EXPECT_FALSE(better.should_prune());
}

TEST_P(StudyTest, ReportAndShouldPruneAreRefusedInMultiObjectiveStudies) {
  Study study =
      make_study(StudyOptions().directions({StudyDirection::kMinimize, StudyDirection::kMaximize}));
  Trial trial = study.ask();
  EXPECT_THROW(trial.report(1.0, 0), Error);
  EXPECT_THROW(trial.should_prune(), Error);
}

TEST_P(StudyTest, UserAttrsOfTrialsAndStudies) {
  Study study = make_study();
  study.optimize(
      [](Trial& t) {
        t.set_user_attr("note", "hello");
        t.set_user_attr("n", t.number());
        t.set_user_attr("nested", Json::parse(R"({"a": [1, 2.5, null]})"));
        return 0.0;
      },
      3);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.user_attrs.at("note"), Json("hello"));
    EXPECT_EQ(t.user_attrs.at("n"), Json(t.number));
    EXPECT_EQ(dumps(t.user_attrs.at("nested")), R"({"a": [1, 2.5, null]})");
  }
  study.set_user_attr("dataset", "fashion-mnist");
  study.set_user_attr("dataset", "mnist");  // overwrites
  EXPECT_EQ(study.user_attrs(), (std::map<std::string, Json>{{"dataset", Json("mnist")}}));
}

// ------------------------------------------------------------------ optimize

TEST_P(StudyTest, OptimizeRunsExactlyNTrials) {
  Study study = make_study();
  int calls = 0;
  study.optimize(
      [&](Trial& t) {
        ++calls;
        return t.suggest_float("x", -1, 1);
      },
      7);
  EXPECT_EQ(calls, 7);
  study.optimize([](Trial& t) { return t.suggest_float("x", -1, 1); }, 3);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 10u);
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::kComplete);
    EXPECT_EQ(trials[i].values, std::vector<double>{std::get<double>(trials[i].param("x"))});
  }
  study.optimize([](Trial&) { return 0.0; }, 0);
  EXPECT_EQ(study.trials().size(), 10u);
}

TEST_P(StudyTest, OptimizeStopsAtTheTimeout) {
  Study study = make_study();
  auto start = std::chrono::steady_clock::now();
  study.optimize(
      [](Trial&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return 1.0;
      },
      OptimizeOptions().timeout(0.2));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(elapsed, 0.2);
  EXPECT_LT(elapsed, 1.5);
  int64_t n = static_cast<int64_t>(study.trials().size());
  EXPECT_GE(n, 3);
  EXPECT_LE(n, 11);  // 0.2 s / 20 ms, plus the trial running at the deadline
  for (const auto& t : study.trials()) EXPECT_EQ(t.state, TrialState::kComplete);
}

TEST_P(StudyTest, OptimizeWithThreadsFinishesEveryTrialWithUniqueNumbers) {
  Study study = make_study();
  std::atomic<int> running{0}, most_at_once{0};
  study.optimize(
      [&](Trial& t) {
        int now_running = ++running;
        int seen = most_at_once.load();
        while (now_running > seen && !most_at_once.compare_exchange_weak(seen, now_running)) {
        }
        double x = t.suggest_float("x", 0, 1);
        t.report(x, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
        --running;
        return x;
      },
      OptimizeOptions().n_trials(40).n_jobs(4));
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 40u);
  std::set<int64_t> numbers;
  for (const auto& t : trials) {
    numbers.insert(t.number);
    EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
    ASSERT_EQ(t.values.size(), 1u);
    EXPECT_EQ(t.values[0], std::get<double>(t.param("x")));
  }
  EXPECT_EQ(numbers.size(), 40u);
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), 39);
  EXPECT_GT(most_at_once.load(), 1) << "n_jobs = 4 never ran two trials at once";
}

TEST_P(StudyTest, ThrowingObjectiveFailsItsTrialAndTheStudyGoesOn) {
  Study study = make_study();
  study.optimize(
      [](Trial& t) -> double {
        t.suggest_float("x", 0, 1);
        if (t.number() == 2) throw std::runtime_error("loss diverged at epoch 3");
        if (t.number() == 4) throw 42;  // not a std::exception
        return 1.0;
      },
      6);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 6u);
  for (const auto& t : trials) {
    SCOPED_TRACE("trial " + std::to_string(t.number));
    if (t.number == 2 || t.number == 4) {
      EXPECT_EQ(t.state, TrialState::kFail);
      EXPECT_TRUE(t.values.empty());
      ASSERT_TRUE(t.system_attrs.count("fail_reason"));
      if (t.number == 2) {
        EXPECT_EQ(t.system_attrs.at("fail_reason"), Json("loss diverged at epoch 3"));
      }
    } else {
      EXPECT_EQ(t.state, TrialState::kComplete);
      EXPECT_FALSE(t.system_attrs.count("fail_reason"));
    }
  }
}

TEST_P(StudyTest, StopOnErrorRethrowsAfterMarkingTheTrialFailed) {
  Study study = make_study();
  EXPECT_THROW(study.optimize(
                   [](Trial& t) -> double {
                     if (t.number() == 1) throw std::out_of_range("index 9 of 3");
                     return 0.0;
                   },
                   OptimizeOptions().n_trials(5).stop_on_error(true)),
               std::out_of_range);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
  EXPECT_EQ(trials[1].state, TrialState::kFail);
  EXPECT_EQ(trials[1].system_attrs.at("fail_reason"), Json("index 9 of 3"));
}

TEST_P(StudyTest, TrialPrunedEndsAsPrunedWithTheLastIntermediateValue) {
  Study study = make_study();
  study.optimize(
      [](Trial& t) -> double {
        if (t.number() == 0) {
          t.report(3.0, 0);
          t.report(2.5, 4);
          t.report(2.0, 1);  // the value of the last *step* counts
        }
        throw TrialPruned();
      },
      2);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::kPruned);
  EXPECT_EQ(trials[0].values, std::vector<double>{2.5});
  EXPECT_EQ(trials[1].state, TrialState::kPruned);
  EXPECT_TRUE(trials[1].values.empty());  // nothing reported: no value
  EXPECT_FALSE(trials[0].system_attrs.count("fail_reason"));
}

TEST_P(StudyTest, NanObjectiveValueFailsTheTrial) {
  Study study = make_study();
  study.optimize([](Trial&) { return std::numeric_limits<double>::quiet_NaN(); }, 2);
  for (const auto& t : study.trials()) {
    EXPECT_EQ(t.state, TrialState::kFail);
    EXPECT_TRUE(t.values.empty());
    expect_contains(t.system_attrs.at("fail_reason").get<std::string>(), {"NaN"});
  }
}

TEST_P(StudyTest, WrongNumberOfValuesFailsAMultiObjectiveTrial) {
  Study study =
      make_study(StudyOptions().directions({StudyDirection::kMinimize, StudyDirection::kMaximize}));
  study.optimize(
      [](Trial& t) {
        if (t.number() == 0) return std::vector<double>{1.0};
        if (t.number() == 1) return std::vector<double>{1.0, 2.0, 3.0};
        return std::vector<double>{1.0, 2.0};
      },
      3);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  expect_contains(trials[0].system_attrs.at("fail_reason").get<std::string>(), {"1 values", "2"});
  EXPECT_EQ(trials[1].state, TrialState::kFail);
  expect_contains(trials[1].system_attrs.at("fail_reason").get<std::string>(), {"3 values", "2"});
  EXPECT_EQ(trials[2].state, TrialState::kComplete);
  EXPECT_EQ(trials[2].values, (std::vector<double>{1.0, 2.0}));
}

TEST_P(StudyTest, StopFromACallbackEndsOptimize) {
  Study study = make_study();
  std::vector<int64_t> seen;
  auto stop_after_third = [&](Study& s, const FrozenTrial& t) {
    seen.push_back(t.number);
    if (t.number == 2) s.stop();
  };
  study.optimize([](Trial&) { return 1.0; },
                 OptimizeOptions().n_trials(100).callbacks({stop_after_third}));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(study.trials().size(), 3u);
  // The stop request ends that call only: the next optimize() runs again.
  study.optimize([](Trial&) { return 1.0; }, 2);
  EXPECT_EQ(study.trials().size(), 5u);
}

TEST_P(StudyTest, BadOptimizeOptionsThrowNamingTheField) {
  Study study = make_study();
  auto objective = [](Trial&) { return 0.0; };
  expect_contains(message_of<InvalidArgument>(
                      [&] { study.optimize(objective, OptimizeOptions().n_trials(1).n_jobs(0)); }),
                  {"n_jobs", "0"});
  expect_contains(message_of<InvalidArgument>([&] { study.optimize(objective, -3); }),
                  {"n_trials", "-3"});
  expect_contains(message_of<InvalidArgument>(
                      [&] { study.optimize(objective, OptimizeOptions().timeout(-1.0)); }),
                  {"timeout", "-1"});
  EXPECT_TRUE(study.trials().empty());
}

// ------------------------------------------------------------------ ask and tell

TEST_P(StudyTest, AskAndTell) {
  Study study = make_study();
  Trial a = study.ask();
  Trial b = study.ask();
  EXPECT_EQ(a.number(), 0);
  EXPECT_EQ(b.number(), 1);
  EXPECT_EQ(study.storage().trial(a.trial_id()).state, TrialState::kRunning);
  double x = a.suggest_float("x", 0, 1);

  FrozenTrial told = study.tell(a, TrialState::kComplete, {x * 2});
  EXPECT_EQ(told.state, TrialState::kComplete);
  EXPECT_EQ(told.values, std::vector<double>{x * 2});
  FrozenTrial stored = study.storage().trial(a.trial_id());
  EXPECT_EQ(stored.state, TrialState::kComplete);
  EXPECT_EQ(stored.values, std::vector<double>{x * 2});
  EXPECT_TRUE(stored.datetime_complete.has_value());

  // By number; then telling either again throws and changes nothing.
  EXPECT_EQ(study.tell(1, TrialState::kComplete, {0.75}).values, std::vector<double>{0.75});
  EXPECT_THROW(study.tell(a, TrialState::kComplete, {5.0}), Error);
  EXPECT_THROW(study.tell(1, TrialState::kComplete, {5.0}), Error);
  EXPECT_EQ(study.storage().trial(a.trial_id()).values, std::vector<double>{x * 2});
  EXPECT_EQ(study.storage().trial(b.trial_id()).state, TrialState::kComplete);

  expect_contains(message_of<NotFound>([&] { study.tell(99, TrialState::kComplete, {1.0}); }),
                  {"99"});

  Trial c = study.ask();
  expect_contains(message_of<InvalidArgument>([&] { study.tell(c, TrialState::kRunning); }),
                  {"state", "RUNNING"});
  // COMPLETE with a bad value count or NaN turns into FAIL with the reason.
  FrozenTrial failed = study.tell(c, TrialState::kComplete, {1.0, 2.0});
  EXPECT_EQ(failed.state, TrialState::kFail);
  EXPECT_EQ(study.storage().trial(c.trial_id()).state, TrialState::kFail);
  Trial d = study.ask();
  study.tell(d, TrialState::kFail, {}, "out of memory");
  EXPECT_EQ(study.storage().trial(d.trial_id()).system_attrs.at("fail_reason"),
            Json("out of memory"));
}

// Optuna's distributed ask-and-tell: trial = study.ask(); trial.report(...);
// study.tell(trial.number, PRUNED). The reports must be stored, and the PRUNED trial keeps the
// last one as its value.
TEST_P(StudyTest, TellByNumberKeepsTheReportedValues) {
  Study study = make_study();
  Trial trial = study.ask();
  trial.report(0.9, 0);
  trial.report(0.75, 3);
  FrozenTrial told = study.tell(trial.number(), TrialState::kPruned);
  EXPECT_EQ(told.values, std::vector<double>{0.75});
  FrozenTrial stored = study.storage().trial(trial.trial_id());
  EXPECT_EQ(stored.state, TrialState::kPruned);
  EXPECT_EQ(stored.values, std::vector<double>{0.75});
  EXPECT_EQ(stored.intermediate_values, (std::map<int64_t, double>{{0, 0.9}, {3, 0.75}}));
}

// Counts the trials it is told about.
class CountingSampler : public RandomSampler {
 public:
  CountingSampler() : RandomSampler(1) {}
  void after_trial(Study&, const FrozenTrial&, TrialState, const std::vector<double>&) override {
    ++told;
  }
  int told = 0;
};

TEST_P(StudyTest, TellingTwiceChangesNothing) {
  auto sampler = std::make_shared<CountingSampler>();
  Study study = make_study(StudyOptions().sampler(sampler));
  Trial trial = study.ask();
  study.tell(trial, TrialState::kComplete, {1.0});
  EXPECT_EQ(sampler->told, 1);
  expect_contains(message_of<Error>([&] { study.tell(trial, TrialState::kFail, {}, "oops"); }),
                  {"trial 0", "already finished"});
  expect_contains(message_of<Error>([&] { study.tell(0, TrialState::kPruned); }),
                  {"trial 0", "already finished"});
  EXPECT_EQ(sampler->told, 1);  // the sampler heard of the trial once
  FrozenTrial stored = study.storage().trial(trial.trial_id());
  EXPECT_EQ(stored.state, TrialState::kComplete);
  EXPECT_FALSE(stored.system_attrs.count("fail_reason"));
}

TEST_P(StudyTest, EnqueuedTrialsUseTheirFixedParamsInOrder) {
  Study study = make_study();
  study.enqueue_trial({{"lr", 0.003}, {"batch", int64_t{64}}, {"opt", std::string("adam")}},
                      {{"source", Json("manual")}});
  study.enqueue_trial({{"lr", 0.1}});
  std::vector<std::map<std::string, ParamValue>> seen;
  study.optimize(
      [&](Trial& t) {
        t.suggest_float("lr", 1e-4, 1.0, {.log = true});
        t.suggest_int("batch", 16, 256);
        t.suggest_categorical<std::string>("opt", {"sgd", "adam"});
        seen.push_back(t.params());
        return 0.0;
      },
      3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::map<std::string, ParamValue>{
                         {"lr", 0.003}, {"batch", int64_t{64}}, {"opt", std::string("adam")}}));
  EXPECT_EQ(seen[1].at("lr"), ParamValue(0.1));  // the rest sampled
  EXPECT_NE(seen[2].at("lr"), ParamValue(0.1));
  auto trials = study.trials();
  EXPECT_EQ(trials[0].user_attrs.at("source"), Json("manual"));
  EXPECT_EQ(trials[0].params(), seen[0]);
  for (const auto& t : trials) EXPECT_EQ(t.state, TrialState::kComplete);

  // ask() claims an enqueued trial too.
  study.enqueue_trial({{"lr", 0.5}});
  Trial asked = study.ask();
  EXPECT_EQ(asked.number(), 3);
  EXPECT_EQ(asked.suggest_float("lr", 1e-4, 1.0, {.log = true}), 0.5);
}

TEST_P(StudyTest, InterruptEndsRunningTrialsAtTheirNextReportAndStartsNoMore) {
  Study study = make_study();
  // Two threads: trial 0 interrupts the study at its step 2; the other trial, mid-run, ends at
  // its next report. No third trial starts.
  study.optimize(
      [&](Trial& t) {
        t.suggest_float("x", 0, 1);
        for (int64_t step = 0; step < 1000; ++step) {
          if (t.number() == 0 && step == 2) t.study().interrupt();
          t.report(0.5, step);
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return 1.0;
      },
      OptimizeOptions().n_trials(10).n_jobs(2));
  EXPECT_TRUE(study.interrupted());
  auto trials = study.trials();
  EXPECT_LE(trials.size(), 2u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kFail) << t.number;
    EXPECT_EQ(t.system_attrs.at("fail_reason"), Json("interrupted"));
    EXPECT_EQ(t.system_attrs.at("knob:interrupted"), Json(true));
    EXPECT_LT(t.intermediate_values.size(), 1000u);  // stopped early
  }
  EXPECT_EQ(trials[0].intermediate_values.size(), 3u);  // steps 0..2, stored before the throw
}

TEST_P(StudyTest, ResumingEnqueuesInterruptedTrialsOnce) {
  Study first = make_study(StudyOptions().study_name("resumed"));
  first.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, 2);
  first.optimize(
      [](Trial& t) {
        t.suggest_float("x", 0, 1);
        t.suggest_categorical<std::string>("opt", {"sgd", "adam"});
        t.study().interrupt();
        t.report(1.0, 0);
        return 0.0;
      },
      5);
  auto before = first.trials();
  ASSERT_EQ(before.size(), 3u);
  ASSERT_EQ(before[2].state, TrialState::kFail);

  // A new process: a new Study object on the same storage.
  Study again =
      load_study(StudyOptions().storage_instance(first.storage_ptr()).study_name("resumed"));
  EXPECT_EQ(again.enqueue_interrupted_trials(), std::vector<int64_t>{2});
  EXPECT_TRUE(again.enqueue_interrupted_trials().empty());  // not twice
  std::map<std::string, ParamValue> rerun;
  again.optimize(
      [&](Trial& t) {
        t.suggest_float("x", 0, 1);
        t.suggest_categorical<std::string>("opt", {"sgd", "adam"});
        rerun = t.params();
        return 0.0;
      },
      1);
  EXPECT_EQ(rerun, before[2].params());
  FrozenTrial retried = again.trials()[3];
  EXPECT_EQ(retried.state, TrialState::kComplete);
  EXPECT_EQ(retried.system_attrs.at("knob:retry_of"), Json(2));
  EXPECT_TRUE(again.enqueue_interrupted_trials().empty());
}

TEST_P(StudyTest, EnqueuedValueOfTheWrongKindFailsTheTrialNamingTheParameter) {
  Study study = make_study();
  study.enqueue_trial({{"opt", std::string("rmsprop")}});
  study.optimize(
      [](Trial& t) {
        return t.suggest_categorical<std::string>("opt", {"sgd", "adam"}) == "sgd" ? 0.0 : 1.0;
      },
      1);
  FrozenTrial t = study.trials()[0];
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(t.system_attrs.at("fail_reason").get<std::string>(), {"opt", "rmsprop"});
}

// ------------------------------------------------------------------ best trials

TEST_P(StudyTest, BestTrialValueAndParamsForMinimizeAndMaximize) {
  for (StudyDirection direction : {StudyDirection::kMinimize, StudyDirection::kMaximize}) {
    SCOPED_TRACE(to_string(direction));
    Study study = make_study(StudyOptions().direction(direction));
    EXPECT_THROW(study.best_trial(), Error);  // nothing complete yet
    const std::vector<double> xs = {3.0, -1.0, 7.5, 2.0};
    study.optimize(
        [&](Trial& t) {
          t.suggest_float("x", -10, 10);
          return xs[static_cast<size_t>(t.number())];
        },
        static_cast<int64_t>(xs.size()));
    // PRUNED and FAIL trials never count, whatever their value.
    Trial pruned = study.ask();
    pruned.report(direction == StudyDirection::kMinimize ? -100.0 : 100.0, 0);
    study.tell(pruned, TrialState::kPruned);
    Trial failed = study.ask();
    study.tell(failed, TrialState::kFail);

    const int64_t best_number = direction == StudyDirection::kMinimize ? 1 : 2;
    EXPECT_EQ(study.best_trial().number, best_number);
    EXPECT_EQ(study.best_value(), xs[best_number]);
    EXPECT_EQ(study.best_params(), study.trials()[best_number].params());
  }
}

TEST_P(StudyTest, BestTrialRefusesMultiObjective) {
  Study study =
      make_study(StudyOptions().directions({StudyDirection::kMinimize, StudyDirection::kMinimize}));
  study.optimize([](Trial&) { return std::vector<double>{1.0, 2.0}; }, 1);
  EXPECT_THROW(study.best_trial(), Error);
  EXPECT_THROW(study.direction(), Error);
  EXPECT_EQ(study.best_trials().size(), 1u);
}

TEST(Dominates, Table) {
  using D = StudyDirection;
  const std::vector<D> min_max = {D::kMinimize, D::kMaximize};
  struct Case {
    std::vector<double> a, b;
    bool expected;
  };
  const std::vector<Case> cases = {
      {{1, 5}, {2, 4}, true},   // better in both
      {{1, 4}, {2, 4}, true},   // better in one, equal in the other
      {{1, 4}, {1, 4}, false},  // equal: no domination
      {{1, 3}, {2, 4}, false},  // trade-off
      {{3, 5}, {2, 4}, false},  // trade-off
      {{2, 4}, {1, 5}, false},  // worse in both
  };
  for (const auto& c : cases) {
    EXPECT_EQ(dominates(c.a, c.b, min_max), c.expected)
        << "a = (" << c.a[0] << ", " << c.a[1] << "), b = (" << c.b[0] << ", " << c.b[1] << ")";
  }
}

TEST_P(StudyTest, BestTrialsIsTheParetoFrontByBruteForce) {
  using D = StudyDirection;
  Study study = make_study(StudyOptions().directions({D::kMinimize, D::kMaximize}));
  Rng rng(7);
  std::vector<std::vector<double>> points;
  for (int i = 0; i < 80; ++i) {
    // Coarse values so that ties and duplicates occur.
    points.push_back({std::round(rng.uniform(0, 10)), std::round(rng.uniform(0, 10))});
  }
  points.push_back(points[3]);  // an exact duplicate
  study.optimize([&](Trial& t) { return points[static_cast<size_t>(t.number())]; },
                 static_cast<int64_t>(points.size()));
  Trial failed = study.ask();
  study.tell(failed, TrialState::kFail);  // not part of any front

  // Independent brute force: i is on the front if no j is <= in f0, >= in f1 and differs.
  std::set<int64_t> expected;
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size(); ++j) {
      bool no_worse = points[j][0] <= points[i][0] && points[j][1] >= points[i][1];
      bool differs = points[j] != points[i];
      if (no_worse && differs) dominated = true;
    }
    if (!dominated) expected.insert(static_cast<int64_t>(i));
  }
  std::set<int64_t> front;
  for (const auto& t : study.best_trials()) front.insert(t.number);
  EXPECT_EQ(front, expected);
  EXPECT_GE(expected.size(), 2u);
  EXPECT_LT(expected.size(), points.size());
}

// ------------------------------------------------------------------ study life cycle

TEST(StudyLifeCycle, CreateLoadIfExistsLoadAndDelete) {
  TempDir dir;
  const std::string url = dir.url("studies.db");
  Study study = create_study(
      StudyOptions().storage(url).study_name("mlp").direction(StudyDirection::kMaximize));
  study.optimize([](Trial&) { return 1.0; }, 2);

  expect_contains(message_of<AlreadyExists>(
                      [&] { create_study(StudyOptions().storage(url).study_name("mlp")); }),
                  {"mlp"});
  Study again = create_study(StudyOptions().storage(url).study_name("mlp").load_if_exists(true));
  EXPECT_EQ(again.study_id(), study.study_id());
  EXPECT_EQ(again.directions(), std::vector<StudyDirection>{StudyDirection::kMaximize});
  EXPECT_EQ(again.trials().size(), 2u);

  Study loaded = load_study(StudyOptions().storage(url).study_name("mlp"));
  EXPECT_EQ(loaded.trials().size(), 2u);
  expect_contains(message_of<NotFound>(
                      [&] { load_study(StudyOptions().storage(url).study_name("no-such-study")); }),
                  {"no-such-study"});
  expect_contains(message_of<InvalidArgument>([&] { load_study(StudyOptions().storage(url)); }),
                  {"study_name"});

  create_study(StudyOptions().storage(url).study_name("other"));
  auto summaries = get_all_study_summaries(url);
  ASSERT_EQ(summaries.size(), 2u);

  delete_study("mlp", url);
  EXPECT_THROW(load_study(StudyOptions().storage(url).study_name("mlp")), NotFound);
  expect_contains(message_of<NotFound>([&] { delete_study("mlp", url); }), {"mlp"});
  summaries = get_all_study_summaries(url);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].study_name, "other");
}

// Two storage objects on one file stand for two worker processes: each Study's trial cache
// must show the other's new trials and, as they finish, their final states.
TEST(StudyLifeCycle, TwoStoragesOnOneFileSeeEachOthersTrialsThroughTheCache) {
  TempDir dir;
  const std::string path = dir.file("shared.db");
  Study a = create_study(
      StudyOptions().storage_instance(std::make_shared<SqliteStorage>(path)).study_name("shared"));
  Study b = load_study(
      StudyOptions().storage_instance(std::make_shared<SqliteStorage>(path)).study_name("shared"));
  auto states = [](Study& study) {
    std::vector<std::string> out;
    for (const auto& t : study.trials()) {
      out.push_back(std::to_string(t.number) + ":" + to_string(t.state) +
                    (t.values.empty() ? "" : "=" + dumps(Json(t.values[0]))));
    }
    return out;
  };
  Trial first = a.ask();
  EXPECT_EQ(states(b), std::vector<std::string>({"0:RUNNING"}));
  Trial second = b.ask();
  second.report(3.0, 0);
  EXPECT_EQ(states(a), std::vector<std::string>({"0:RUNNING", "1:RUNNING"}));
  a.tell(first, TrialState::kComplete, {2.0});
  b.tell(second, TrialState::kComplete, {1.0});
  const std::vector<std::string> both = {"0:COMPLETE=2.0", "1:COMPLETE=1.0"};
  EXPECT_EQ(states(a), both);  // b's trial was cached RUNNING by a, re-read finished
  EXPECT_EQ(states(b), both);
  EXPECT_EQ(a.best_trial().number, 1);
  EXPECT_EQ(b.trials({TrialState::kComplete}).at(1).intermediate_values.at(0), 3.0);
  b.optimize([](Trial&) { return 0.5; }, 3);
  EXPECT_EQ(a.trials({TrialState::kComplete}).size(), 5u);
  EXPECT_EQ(a.best_value(), 0.5);
}

TEST(StudyLifeCycle, UnnamedStudiesGetUniqueNames) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study a = create_study(StudyOptions().storage_instance(storage));
  Study b = create_study(StudyOptions().storage_instance(storage));
  EXPECT_FALSE(a.study_name().empty());
  EXPECT_NE(a.study_name(), b.study_name());
}

TEST(StudyLifeCycle, BadStorageUrlThrowsNamingIt) {
  expect_contains(message_of<InvalidArgument>(
                      [] { create_study(StudyOptions().storage("mysql://localhost/db")); }),
                  {"storage", "mysql://localhost/db"});
}

}  // namespace
}  // namespace knob
