// DashboardCache stays what the storage holds while the storage changes under it: trials
// that finish, new trials, a study deleted and made again under its name (with SQLite's reused
// ids), importance after COMPLETE trials change; it reads only what changed, for a study page
// and for the studies list; its refreshing thread reads studies before any request and keeps
// them current; bad options.
#include "knob/report/dashboard_cache.h"

#include <gtest/gtest.h>

#include <atomic>
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

// A storage that counts what the cache reads (from any thread).
class CountingStorage : public InMemoryStorage {
 public:
  std::vector<FrozenTrial> trials(int64_t study_id,
                                  const std::vector<TrialState>& states) override {
    ++whole_reads;
    return InMemoryStorage::trials(study_id, states);
  }
  std::vector<StudySummary> all_studies() override {
    ++whole_reads;  // reads every trial of every study
    return InMemoryStorage::all_studies();
  }
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override {
    auto out = InMemoryStorage::trials_since(study_id, after_trial_id, trial_ids);
    trials_read += out.size();
    return out;
  }
  void reset() {
    whole_reads = 0;
    trials_read = 0;
  }
  std::atomic<int> whole_reads{0};
  std::atomic<size_t> trials_read{0};
};

// After the first request, a request reads the new trials, the unfinished ones and the anchor
// (one finished trial that tells a study made again) — not the study.
TEST(DashboardCache, ReadsOnlyWhatChanged) {
  auto storage = std::make_shared<CountingStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  for (int i = 0; i < 50; ++i) complete_x(study, i * 0.1);
  ask_x(study);  // RUNNING
  DashboardCache cache(storage);
  storage->reset();
  EXPECT_EQ(page(cache, "s")["n_trials"], 51);
  EXPECT_EQ(storage->trials_read, 51u);
  EXPECT_EQ(storage->whole_reads, 0);
  ask_x(study);
  storage->reset();
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

// Waits (20 s at most) until the cache's refreshing thread has finished `n` more rounds.
void wait_rounds(DashboardCache& cache, int64_t n) {
  const int64_t until = cache.refresh_rounds() + n;
  for (int i = 0; i < 2000 && cache.refresh_rounds() < until; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(cache.refresh_rounds(), until);
}

// The studies list reads no study whole (neither Storage::all_studies nor Storage::trials):
// the first time each study's trials once, after that only what changed — and it says what
// all_studies says.
TEST(DashboardCache, StudiesListReadsOnlyWhatChanged) {
  auto storage = std::make_shared<CountingStorage>();
  Study a = create_study(StudyOptions().storage_instance(storage).study_name("a"));
  Study b = create_study(StudyOptions().storage_instance(storage).study_name("b").directions(
      {StudyDirection::kMaximize}));
  for (int i = 0; i < 20; ++i) complete_x(a, i * 0.1);
  for (int i = 0; i < 10; ++i) complete_x(b, i * 0.1);
  Trial running = ask_x(b);
  DashboardCache cache(storage);
  storage->reset();
  Json listed = cache.studies();
  EXPECT_EQ(storage->whole_reads, 0);
  EXPECT_EQ(storage->trials_read, 31u);
  storage->reset();
  std::vector<StudySummary> summaries = storage->all_studies();
  ASSERT_EQ(listed.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(listed[i]["name"], summaries[i].study_name);
    EXPECT_EQ(listed[i]["n_trials"], summaries[i].n_trials());
    EXPECT_EQ(listed[i]["counts"]["COMPLETE"], summaries[i].trial_counts[TrialState::kComplete]);
    EXPECT_EQ(listed[i]["best"]["number"], summaries[i].best_trial->number);
  }
  EXPECT_EQ(listed[1]["directions"], Json::array({"MAXIMIZE"}));
  EXPECT_EQ(listed[1]["counts"]["RUNNING"], 1);
  EXPECT_EQ(listed[1]["best"]["number"], 9);
  EXPECT_EQ(listed, studies_json(*storage));

  b.tell(running, TrialState::kComplete, {100.0});
  complete_x(a, 5.0);
  storage->reset();
  listed = cache.studies();
  EXPECT_EQ(storage->whole_reads, 0);
  // a: its new trial and its anchor; b: the trial that finished and its anchor.
  EXPECT_EQ(storage->trials_read, 4u);
  EXPECT_EQ(listed[0]["n_trials"], 21);
  EXPECT_EQ(listed[1]["best"]["number"], 10);
  EXPECT_EQ(listed, studies_json(*storage));
}

// start_refreshing reads every study on its own thread before any request: the first request
// then reads only what a later one would (the anchor, the unfinished trials), and the thread
// keeps following the storage; a deleted study is forgotten.
TEST(DashboardCache, RefreshingThreadReadsStudiesOffTheRequestPath) {
  auto storage = std::make_shared<CountingStorage>();
  Study a = create_study(StudyOptions().storage_instance(storage).study_name("a"));
  Study b = create_study(StudyOptions().storage_instance(storage).study_name("b"));
  for (int i = 0; i < 30; ++i) complete_x(a, i * 0.1);
  for (int i = 0; i < 5; ++i) complete_x(b, i * 0.1);
  Trial running = ask_x(a);
  DashboardCache cache(storage, DashboardCacheOptions().importance_interval(0));
  cache.start_refreshing(0.01);
  cache.start_refreshing(0.01);  // already running: nothing more
  wait_rounds(cache, 1);
  cache.stop_refreshing();  // no round under way while counting
  storage->reset();
  Json first = page(cache, "a");
  EXPECT_EQ(storage->whole_reads, 0);
  EXPECT_EQ(storage->trials_read, 2u);  // the RUNNING trial and the anchor
  EXPECT_EQ(first["n_trials"], 31);
  EXPECT_EQ(first["importance"]["n_trials"], 30);  // computed by the thread
  EXPECT_EQ(without_importance(first), fresh(*storage, "a"));
  storage->reset();
  EXPECT_EQ(page(cache, "b")["n_trials"], 5);
  EXPECT_EQ(storage->trials_read, 1u);  // the anchor

  cache.start_refreshing(0.01);  // again after a stop
  a.tell(running, TrialState::kComplete, {0.0});
  for (int i = 0; i < 3; ++i) complete_x(a, 1.0);
  wait_rounds(cache, 2);
  cache.stop_refreshing();
  cache.stop_refreshing();  // a second stop does nothing
  storage->reset();
  Json later = page(cache, "a");
  EXPECT_EQ(storage->trials_read, 1u);  // the anchor: the thread read the rest
  EXPECT_EQ(later["n_trials"], 34);
  EXPECT_EQ(without_importance(later), fresh(*storage, "a"));

  storage->delete_study(storage->study_id_from_name("b"));
  cache.refresh_all();
  EXPECT_EQ(cache.studies().size(), 1u);
  EXPECT_THROW(cache.study_text("b"), NotFound);
}

// The refreshing thread, requests from threads and writers at once (run under ThreadSanitizer
// by scripts/test): every answer is well-formed and the last equals a fresh read.
TEST(DashboardCache, RefreshesWhileThreadsServeAndTrialsAreWritten) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("s"));
  DashboardCache cache(storage, DashboardCacheOptions().importance_interval(0));
  cache.start_refreshing(0.001);
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      for (int i = 0; i < 30; ++i) {
        if (r == 0) {
          Json listed = cache.studies();
          EXPECT_EQ(listed.size(), 1u);
          continue;
        }
        Json j = page(cache, "s");
        EXPECT_EQ(j["n_trials"].get<size_t>(), j["trials"].size());
      }
    });
  }
  for (int i = 0; i < 60; ++i) complete_x(study, i * 0.5);
  for (auto& t : readers) t.join();
  wait_rounds(cache, 1);
  EXPECT_EQ(without_importance(page(cache, "s")), fresh(*storage, "s"));
  // Destroyed with the thread running: the destructor stops it.
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
  DashboardCache cache(storage);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    testing::expect_invalid("interval_seconds " + std::to_string(bad),
                            [&] { cache.start_refreshing(bad); }, {"interval_seconds", "> 0"});
  }
}

}  // namespace
}  // namespace knob
