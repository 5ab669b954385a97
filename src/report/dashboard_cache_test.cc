// DashboardCache stays what the storage holds while the storage changes under it: trials
// that finish, new trials, a study deleted and made again under its name (with SQLite's reused
// ids), importance after COMPLETE trials change; it reads only what changed; bad options.
#include "knob/report/dashboard_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "knob/report/dashboard_api.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::TempDir;

Json page(DashboardCache& cache, const std::string& name,
          const std::vector<TrialState>& states = {}, int64_t from = 0) {
  return Json::parse(cache.study_text(name, states, from));
}

// What a fresh read of the whole study gives (study_json reads it with a cache of its own),
// but the importance, which the cache may keep for a while on purpose.
Json fresh(Storage& storage, const std::string& name, const std::vector<TrialState>& states = {},
           int64_t from = 0) {
  Json out = study_json(storage, name, states, from);
  out.erase("importance");
  return out;
}

Json without_importance(Json j) {
  j.erase("importance");
  return j;
}

Trial ask_x(Study& study) {
  Trial t = study.ask();
  t.suggest_float("x", 0, 1);
  return t;
}

void complete_x(Study& study, double value) {
  Trial t = ask_x(study);
  study.tell(t, TrialState::kComplete, {value});
}

std::vector<double> first_values(const Json& study) {
  std::vector<double> out;
  for (const Json& t : study["trials"])
    out.push_back(t["values"].is_null() ? NAN : t["values"][0].get<double>());
  return out;
}

// A trial that finishes after the first request is finished in the next; a new trial appears;
// each answer equals a fresh read of the whole study, with `states` and `from` too.
TEST(DashboardCache, FollowsTrialsThatFinishAndNewTrials) {
  TempDir dir;
  auto storage = open_storage(dir.url("c.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  DashboardCache cache(storage, DashboardCacheOptions().importance_interval(0));

  Trial t0 = ask_x(study);
  Json first = page(cache, "s");
  ASSERT_EQ(first["trials"].size(), 1u);
  EXPECT_EQ(first["trials"][0]["state"], "RUNNING");

  t0.report(0.5, 0);
  study.tell(t0, TrialState::kComplete, {2.0});
  Trial t1 = ask_x(study);
  Json second = page(cache, "s");
  ASSERT_EQ(second["trials"].size(), 2u);
  EXPECT_EQ(second["trials"][0]["state"], "COMPLETE");
  EXPECT_EQ(second["trials"][0]["values"], Json::array({2.0}));
  EXPECT_EQ(second["trials"][0]["intermediate_values"], Json({{"0", 0.5}}));
  EXPECT_EQ(second["trials"][1]["state"], "RUNNING");
  EXPECT_EQ(second["best"]["number"], 0);
  EXPECT_EQ(without_importance(second), fresh(*storage, "s"));

  study.tell(t1, TrialState::kComplete, {1.0});
  Trial t2 = ask_x(study);
  study.tell(t2, TrialState::kPruned);
  ask_x(study);  // left RUNNING
  for (int64_t from : {0, 1, 3, 4}) {
    for (const auto& states : std::vector<std::vector<TrialState>>{
             {}, {TrialState::kComplete}, {TrialState::kRunning, TrialState::kPruned}}) {
      EXPECT_EQ(without_importance(page(cache, "s", states, from)),
                fresh(*storage, "s", states, from))
          << "from " << from << ", " << states.size() << " states";
    }
  }
  EXPECT_EQ(page(cache, "s")["best_trials"], Json::array({1}));
}

// SQLite gives a study made again after a delete the id of the deleted one (its largest ids
// are reused); the cache must not serve the old study's trials, whether the new one has fewer
// trials or more.
TEST(DashboardCache, StudyMadeAgainUnderItsNameIsReadAnew) {
  TempDir dir;
  const std::string url = dir.url("again.db");
  auto storage = open_storage(url);
  DashboardCache cache(storage, DashboardCacheOptions().importance_interval(0));
  int64_t old_id = -1;
  {
    Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
    old_id = storage->study_id_from_name("s");
    for (double v : {1.0, 2.0, 3.0}) complete_x(study, v);
    EXPECT_EQ(first_values(page(cache, "s")), (std::vector<double>{1.0, 2.0, 3.0}));
  }
  storage->delete_study(old_id);  // and made again before the cache's next request
  {
    Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
    EXPECT_EQ(storage->study_id_from_name("s"), old_id);  // the case this test is about
    for (double v : {7.0, 8.0}) complete_x(study, v);
    Json again = page(cache, "s");
    EXPECT_EQ(first_values(again), (std::vector<double>{7.0, 8.0}));
    EXPECT_EQ(again["importance"]["n_trials"], 2);
    // Then more trials than the old study had.
    for (double v : {9.0, 10.0}) complete_x(study, v);
  }
  Json again = page(cache, "s");
  EXPECT_EQ(first_values(again), (std::vector<double>{7.0, 8.0, 9.0, 10.0}));
  EXPECT_EQ(without_importance(again), fresh(*storage, "s"));

  // Made again with other directions and no trial yet.
  storage->delete_study(old_id);
  create_study(StudyOptions().storage_instance(storage).study_name("s").directions(
      {StudyDirection::kMaximize}));
  Json empty = page(cache, "s");
  EXPECT_EQ(empty["directions"], Json::array({"MAXIMIZE"}));
  EXPECT_EQ(empty["trials"], Json::array());
  EXPECT_EQ(empty["n_trials"], 0);

  storage->delete_study(old_id);
  EXPECT_THROW(cache.study_text("s"), NotFound);
}

// The importance once a recomputation started by a request has ended (it runs on a thread of
// its own, after the first): asks until "n_trials" is `n`, for 20 s at most.
Json importance_over(DashboardCache& cache, int64_t n) {
  Json importance;
  for (int i = 0; i < 2000; ++i) {
    importance = page(cache, "s")["importance"];
    if (importance["n_trials"] == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return importance;
}

// Importance is recomputed when the COMPLETE trials change (not when only a RUNNING trial is
// added), and with an interval, not before it has passed: meanwhile the page keeps the last one.
TEST(DashboardCache, ImportanceRefreshesWhenCompleteTrialsChange) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  auto complete = [&](double x, double z) {
    Trial t = study.ask();
    t.suggest_float("x", 0, 1);
    t.suggest_float("z", 0, 1);
    study.tell(t, TrialState::kComplete, {x * x + 0.01 * z});
  };
  DashboardCache every(storage, DashboardCacheOptions().importance_interval(0));
  DashboardCache slow(storage, DashboardCacheOptions().importance_interval(3600));
  EXPECT_TRUE(page(every, "s")["importance"]["params"].is_null());  // no COMPLETE trial yet
  complete(0.1, 0.9);
  complete(0.9, 0.1);
  complete(0.5, 0.5);
  Json three = importance_over(every, 3);
  EXPECT_EQ(three["n_trials"], 3);
  ASSERT_TRUE(three["params"].is_array()) << three;
  EXPECT_EQ(page(slow, "s")["importance"], three);  // its first: computed at once

  study.ask();  // RUNNING only: the same importance
  EXPECT_EQ(page(every, "s")["importance"], three);
  complete(0.3, 0.7);
  Json four = importance_over(every, 4);
  EXPECT_EQ(four["n_trials"], 4);
  EXPECT_EQ(four, study_json(*storage, "s")["importance"]);

  Json throttled = page(slow, "s");
  EXPECT_EQ(throttled["importance"], three);      // computed < 3600 s ago
  EXPECT_EQ(throttled["counts"]["COMPLETE"], 4);  // the rest is current
}

// A storage that counts what the cache reads.
class CountingStorage : public InMemoryStorage {
 public:
  std::vector<FrozenTrial> trials(int64_t study_id,
                                  const std::vector<TrialState>& states) override {
    ++whole_reads;
    return InMemoryStorage::trials(study_id, states);
  }
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override {
    auto out = InMemoryStorage::trials_since(study_id, after_trial_id, trial_ids);
    trials_read += out.size();
    return out;
  }
  int whole_reads = 0;
  size_t trials_read = 0;
};

// After the first request, a request reads the new trials, the unfinished ones and the anchor
// (one finished trial that tells a study made again) — not the study.
TEST(DashboardCache, ReadsOnlyWhatChanged) {
  auto storage = std::make_shared<CountingStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  for (int i = 0; i < 50; ++i) complete_x(study, i * 0.1);
  ask_x(study);  // RUNNING
  DashboardCache cache(storage);
  storage->trials_read = 0;
  storage->whole_reads = 0;
  EXPECT_EQ(page(cache, "s")["n_trials"], 51);
  EXPECT_EQ(storage->trials_read, 51u);
  EXPECT_EQ(storage->whole_reads, 0);
  ask_x(study);
  storage->trials_read = 0;
  storage->whole_reads = 0;
  EXPECT_EQ(page(cache, "s")["n_trials"], 52);
  EXPECT_EQ(storage->trials_read, 3u);  // the new one, the RUNNING one, the anchor
  EXPECT_EQ(storage->whole_reads, 0);
}

// Requests from many threads while trials are written: every answer is well-formed and
// the last equals a fresh read.
TEST(DashboardCache, ServesThreadsWhileTrialsAreWritten) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  DashboardCache cache(storage, DashboardCacheOptions().importance_interval(0));
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        Json j = page(cache, "s");
        EXPECT_EQ(j["n_trials"].get<size_t>(), j["trials"].size());
      }
    });
  }
  for (int i = 0; i < 60; ++i) complete_x(study, i * 0.5);
  for (auto& t : readers) t.join();
  EXPECT_EQ(without_importance(page(cache, "s")), fresh(*storage, "s"));
}

TEST(DashboardCache, BadOptionsNameTheField) {
  auto storage = std::make_shared<InMemoryStorage>();
  for (double bad :
       {-1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    testing::expect_invalid(
        "importance_interval " + std::to_string(bad),
        [&] { DashboardCache(storage, DashboardCacheOptions().importance_interval(bad)); },
        {"importance_interval", ">= 0"});
  }
}

}  // namespace
}  // namespace knob
