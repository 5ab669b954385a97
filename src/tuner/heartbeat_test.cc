// Heartbeats, stale trials and retries in Study (Optuna's heartbeat_interval, grace_period
// and RetryFailedTrialCallback): options are validated, optimize() keeps its running trials'
// heartbeats fresh and stops beating when they end, another worker fails a dead worker's trial
// and re-runs it with Optuna's retry attributes, and max_retry bounds the chain. Intervals are
// 0.05 s; every wait is bounded. SQLite keeps heartbeats to the whole second (as Optuna), so
// waits on SQLite are a little over a second; the retry logic runs in memory.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::expect_invalid;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr double kInterval = 0.05;  // grace period: 2 x, Optuna's default

void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// A study with heartbeats on `storage`.
Study beating_study(const std::shared_ptr<Storage>& storage, std::optional<int> max_retry,
                    const std::string& name = "hb") {
  return create_study(StudyOptions()
                          .storage_instance(storage)
                          .study_name(name)
                          .load_if_exists(true)
                          .pruner(std::make_shared<NopPruner>())
                          .heartbeat_interval(kInterval)
                          .max_retry(max_retry));
}

// A trial of `study` that "a worker that then died" started: RUNNING, with a parameter, a
// user attr and one heartbeat, which then ages past the grace period.
int64_t dead_workers_trial(Study& study, double x) {
  study.enqueue_trial({{"x", x}}, {{"owner", Json("worker-7")}});
  Trial trial = study.ask();  // with heartbeats on, ask() records the first beat itself
  trial.suggest_float("x", 0.0, 1.0);
  study.storage().record_heartbeat(trial.trial_id());  // a study without them: the test beats
  return trial.number();
}

// The text of a trial's heartbeat row in an SQLite file ("" if it has none).
std::string heartbeat_row(const std::string& path, int64_t trial_id) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT heartbeat FROM trial_heartbeats WHERE trial_id = ?", -1, &q,
                       nullptr);
    sqlite3_bind_int64(q, 1, trial_id);
    if (sqlite3_step(q) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return out;
}

TEST(HeartbeatOptionsTest, MalformedOptionsAreRefusedNamingTheField) {
  auto make = [](StudyOptions options) {
    return [options]() mutable {
      create_study(options.storage_instance(std::make_shared<InMemoryStorage>()));
    };
  };
  const double nan = std::nan("");
  expect_invalid("zero interval", make(StudyOptions().heartbeat_interval(0.0)),
                 {"heartbeat_interval", "0", "> 0"});
  expect_invalid("negative interval", make(StudyOptions().heartbeat_interval(-1.0)),
                 {"heartbeat_interval", "-1", "> 0"});
  expect_invalid("NaN interval", make(StudyOptions().heartbeat_interval(nan)),
                 {"heartbeat_interval", "> 0"});
  expect_invalid("grace without interval", make(StudyOptions().grace_period(10.0)),
                 {"grace_period", "10", "needs heartbeat_interval"});
  expect_invalid("grace below interval",
                 make(StudyOptions().heartbeat_interval(1.0).grace_period(0.5)),
                 {"grace_period", "0.5", "> heartbeat_interval (1"});
  expect_invalid("max_retry without interval", make(StudyOptions().max_retry(2)),
                 {"max_retry", "2", "needs heartbeat_interval"});
  expect_invalid("negative max_retry", make(StudyOptions().heartbeat_interval(1.0).max_retry(-1)),
                 {"max_retry", "-1", ">= 0"});
}

TEST(HeartbeatTest, OptimizeRefreshesTheHeartbeatWhileATrialRunsAndStopsAfter) {
  TempDir dir;
  const std::string path = dir.file("beats.db");
  Study study = beating_study(std::make_shared<SqliteStorage>(path), std::nullopt);
  std::string first, refreshed;
  int64_t trial_id = -1;
  study.optimize(
      [&](Trial& t) {
        trial_id = t.trial_id();
        first = heartbeat_row(path, trial_id);  // recorded before the objective starts
        for (auto end = Clock::now() + std::chrono::seconds(2); Clock::now() < end;) {
          refreshed = heartbeat_row(path, trial_id);
          if (refreshed != first) break;
          sleep_seconds(0.01);
        }
        return 0.0;
      },
      1);
  EXPECT_FALSE(first.empty()) << "no heartbeat row while the trial ran";
  EXPECT_NE(refreshed, first) << "heartbeat not refreshed within 2 s (interval 0.05 s)";
  const std::string after = heartbeat_row(path, trial_id);
  sleep_seconds(1.1);  // a beat now would store another second
  EXPECT_EQ(heartbeat_row(path, trial_id), after) << "still beating after the trial ended";
}

TEST(HeartbeatTest, TrialEndDoesNotWaitOutTheInterval) {
  auto start = Clock::now();
  {
    Study study = create_study(StudyOptions().heartbeat_interval(30.0));
    study.optimize([](Trial& t) { return t.suggest_float("x", 0, 1); }, 3);
  }  // the heartbeat thread is joined here
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
}

TEST(HeartbeatTest, LiveTrialIsNotFailedByAnotherWorker) {
  // A wide grace period: a loaded machine may delay a beat by a few intervals.
  auto storage = std::make_shared<InMemoryStorage>();
  auto options = StudyOptions()
                     .storage_instance(storage)
                     .study_name("hb")
                     .load_if_exists(true)
                     .heartbeat_interval(kInterval)
                     .grace_period(0.3);
  Study running = create_study(options);
  Study other = create_study(options);
  std::atomic<bool> done{false};
  std::vector<int64_t> failed;
  std::thread checker([&] {
    while (!done) {
      for (int64_t n : other.fail_stale_trials()) failed.push_back(n);
      sleep_seconds(0.01);
    }
  });
  running.optimize(
      [](Trial&) {
        sleep_seconds(0.6);  // > grace period
        return 1.0;
      },
      1);
  done = true;
  checker.join();
  EXPECT_TRUE(failed.empty());
  EXPECT_EQ(running.trials({TrialState::kComplete}).size(), 1u);
}

// A worker killed right after ask(), before any HeartbeatThread beat: the trial ask() made
// RUNNING (claimed or created) carries a heartbeat from that instant, so it goes stale.
TEST(HeartbeatTest, AskedTrialGoesStaleWithoutAnyBeat) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study dead = beating_study(storage, 1);
  dead.enqueue_trial({{"x", 0.5}});
  const int64_t claimed = dead.ask().number();
  const int64_t created = dead.ask().number();
  sleep_seconds(5 * kInterval);  // > grace period (2 x interval)
  Study other = beating_study(storage, 1);
  EXPECT_EQ(other.fail_stale_trials(), (std::vector<int64_t>{claimed, created}));
  EXPECT_EQ(other.trials({TrialState::kWaiting}).size(), 2u) << "both retried";
}

// Without heartbeat_interval, ask() writes no heartbeat (Optuna's behaviour): another worker's
// fail_stale_trials leaves the trial RUNNING however long it is silent.
TEST(HeartbeatTest, WithoutHeartbeatsAskedTrialNeverGoesStale) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study quiet = create_study(StudyOptions().storage_instance(storage).study_name("hb"));
  const int64_t number = quiet.ask().number();
  sleep_seconds(5 * kInterval);
  Study other = beating_study(storage, 1);
  EXPECT_TRUE(other.fail_stale_trials().empty());
  EXPECT_EQ(other.trials()[static_cast<size_t>(number)].state, TrialState::kRunning);
}

TEST(HeartbeatTest, DeadWorkersTrialIsFailedAndRetriedByTheNextTrialOfAnotherStudy) {
  TempDir dir;
  Study dead = create_study(StudyOptions().storage(dir.url("shared.db")).study_name("hb"));
  const int64_t number = dead_workers_trial(dead, 0.25);
  sleep_seconds(1.25);  // > grace period (2 x interval) + SQLite's second

  Study worker = beating_study(std::make_shared<SqliteStorage>(dir.file("shared.db")), 1);
  std::optional<double> seen;
  worker.optimize([&](Trial& t) { return *(seen = t.suggest_float("x", 0.0, 1.0)); }, 1);

  std::vector<FrozenTrial> trials = worker.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].number, number);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  ASSERT_TRUE(trials[0].system_attrs.count("fail_reason"));
  expect_contains(dumps(trials[0].system_attrs.at("fail_reason")),
                  {"stale: no heartbeat for", "(grace 0.1 s)"});
  const FrozenTrial& retry = trials[1];
  EXPECT_EQ(retry.state, TrialState::kComplete);
  EXPECT_EQ(retry.system_attrs.at("failed_trial"), Json(number));
  EXPECT_EQ(retry.system_attrs.at("retry_history"), Json::array({number}));
  EXPECT_EQ(retry.system_attrs.count("fail_reason"), 0u);
  EXPECT_EQ(retry.user_attrs.at("owner"), Json("worker-7"));
  EXPECT_EQ(seen, 0.25) << "the retry re-runs the failed trial's parameters";
  EXPECT_EQ(retry.params(), trials[0].params());
}

// A worker fails a stale trial and dies before enqueuing its retry (here: the storage fails it,
// no Study retries it). The next caller of fail_stale_trials enqueues the lost retry, and
// callers after it, from any Study on the storage, do not enqueue it again.
TEST(HeartbeatRetryTest, RetryLostWithItsWorkerIsEnqueuedOnceByTheNextCaller) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study first = beating_study(storage, 2);
  const int64_t number = dead_workers_trial(first, 0.5);
  sleep_seconds(5 * kInterval);
  ASSERT_EQ(storage->fail_stale_trials(first.study_id(), 2 * kInterval).size(), 1u);
  ASSERT_EQ(first.trials().size(), 1u) << "failed, and no retry yet";

  EXPECT_TRUE(first.fail_stale_trials().empty()) << "nothing newly stale";
  Study second = beating_study(storage, 2);
  EXPECT_TRUE(second.fail_stale_trials().empty());
  EXPECT_TRUE(first.fail_stale_trials().empty());

  std::vector<FrozenTrial> trials = second.trials();
  ASSERT_EQ(trials.size(), 2u) << "exactly one retry";
  EXPECT_EQ(trials[1].state, TrialState::kWaiting);
  EXPECT_EQ(trials[1].system_attrs.at("failed_trial"), Json(number));
  EXPECT_EQ(trials[1].system_attrs.at("retry_history"), Json::array({number}));
}

// Trial after trial of one chain dies (claimed, beats once, goes silent); each is failed and
// retried until the chain holds max_retry + 1 trials.
TEST(HeartbeatRetryTest, MaxRetryBoundsTheChainOfRetries) {
  Study study = beating_study(std::make_shared<InMemoryStorage>(), 2);
  dead_workers_trial(study, 0.5);
  std::vector<int64_t> failed;
  for (int round = 0; round < 4; ++round) {
    sleep_seconds(5 * kInterval);
    for (int64_t n : study.fail_stale_trials()) failed.push_back(n);
    auto retry = study.storage().claim_waiting_trial(study.study_id());
    if (!retry) break;
    study.storage().record_heartbeat(*retry);  // and its worker dies too
  }
  EXPECT_EQ(failed, (std::vector<int64_t>{0, 1, 2}));
  std::vector<FrozenTrial> trials = study.trials();
  ASSERT_EQ(trials.size(), 3u) << "original + max_retry (2) retries";
  for (const auto& t : trials) EXPECT_EQ(t.state, TrialState::kFail);
  EXPECT_EQ(trials[1].system_attrs.at("retry_history"), Json::array({0}));
  EXPECT_EQ(trials[2].system_attrs.at("retry_history"), Json::array({0, 1}));
  EXPECT_EQ(trials[2].system_attrs.at("failed_trial"), Json(0)) << "the first of the chain";
  EXPECT_EQ(trials[2].params(), trials[0].params());
}

TEST(HeartbeatRetryTest, WithoutMaxRetryStaleTrialsAreOnlyFailed) {
  Study study = beating_study(std::make_shared<InMemoryStorage>(), std::nullopt);
  dead_workers_trial(study, 0.5);
  sleep_seconds(5 * kInterval);
  EXPECT_EQ(study.fail_stale_trials(), std::vector<int64_t>{0});
  EXPECT_EQ(study.trials().size(), 1u);
}

TEST(HeartbeatRetryTest, WithoutHeartbeatsNothingIsFailed) {
  auto shared = std::make_shared<InMemoryStorage>();
  Study beating = beating_study(shared, 1);
  dead_workers_trial(beating, 0.5);
  sleep_seconds(5 * kInterval);
  Study quiet =
      create_study(StudyOptions().storage_instance(shared).study_name("hb").load_if_exists(true));
  EXPECT_TRUE(quiet.fail_stale_trials().empty());
  quiet.optimize([](Trial&) { return 0.0; }, 1);
  EXPECT_EQ(quiet.trials()[0].state, TrialState::kRunning);
}

// A worker that stalled past the grace period finds its trial failed by another: the verdict
// stands and the worker goes on with its next trial.
TEST(HeartbeatRetryTest, WorkerWhoseTrialWasFailedMeanwhileGoesOn) {
  Study study = beating_study(std::make_shared<InMemoryStorage>(), std::nullopt);
  int calls = 0;
  study.optimize(
      [&](Trial& t) {
        if (calls++ == 0) {
          sleep_seconds(0.02);
          EXPECT_EQ(t.study().storage().fail_stale_trials(t.study().study_id(), 0.0).size(), 1u);
        }
        return 1.0;
      },
      2);
  std::vector<FrozenTrial> trials = study.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_EQ(trials[1].state, TrialState::kComplete);
}

}  // namespace
}  // namespace knob
