// Finder runs recorded in a storage: the JSON of each kind, the keys they get, the study they
// create, and the bad kind refused.
#include "knob/run/finder_runs.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>

#include "knob/core/error.h"
#include "knob/report/dashboard_api.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::TempDir;

LrFindResult three_step_sweep() {
  LrFindResult r;
  r.lrs = {1e-4, 1e-3, 1e-2};
  r.losses = {2.0, 1.5, std::numeric_limits<double>::infinity()};
  r.smoothed = {2.0, 1.7, 9.0};
  r.suggestions = {{"valley", 1e-3, 1}, {"minimum", 1e-4, 1}};
  r.chosen = "valley";
  r.lr = 1e-3;
  r.stop_reason = "diverged";
  r.batch_size = 64;
  return r;
}

TEST(FinderRunsTest, LrFindRecordHoldsTheCurveTheSuggestionsAndTheSettings) {
  LrFindConfig settings;
  settings.steps = 3;
  Json j = lr_find_record(three_step_sweep(), settings);
  EXPECT_EQ(j["kind"], "lr_find");
  EXPECT_EQ(j["lr"], Json::array({1e-4, 1e-3, 1e-2}));
  EXPECT_EQ(j["loss"], Json::array({2.0, 1.5, nullptr}));  // the diverged step: null
  EXPECT_EQ(j["smoothed"][2], 9.0);
  ASSERT_EQ(j["suggestions"].size(), 2u);
  EXPECT_EQ(j["suggestions"][1], Json({{"name", "minimum"}, {"lr", 1e-4}, {"index", 1}}));
  EXPECT_EQ(j["chosen"], "valley");
  EXPECT_EQ(j["suggested_lr"], 1e-3);
  EXPECT_EQ(j["settings"]["steps"], 3);
  EXPECT_EQ(j["settings"]["suggestion"], "valley");
  EXPECT_EQ(j["batch_size"], 64);

  LrFindResult none = three_step_sweep();
  none.chosen.clear();  // diverged too early for a suggestion
  EXPECT_TRUE(lr_find_record(none, settings)["suggested_lr"].is_null());
}

TEST(FinderRunsTest, BatchFindRecordHoldsTheTableAndTheRecommendation) {
  BatchFindResult r;
  r.trials = {{16, true, 10.0, 900.0}, {32, true, 19.5, 1500.0}, {64, false, 41.0, 0.0}};
  r.largest_fitting = 32;
  r.recommended = 32;
  r.rule = "largest that fits";
  r.noise.batches = 0;  // not estimated
  r.noise.b_simple = 5.0;
  r.lr = 0.002;
  BatchFindConfig settings;
  settings.memory_budget = 32.0;
  Json j = batch_find_record(r, settings);
  EXPECT_EQ(j["kind"], "batch_find");
  ASSERT_EQ(j["trials"].size(), 3u);
  EXPECT_EQ(
      j["trials"][1],
      Json({{"size", 32}, {"fits", true}, {"peak_mib", 19.5}, {"samples_per_second", 1500.0}}));
  EXPECT_TRUE(j["trials"][2]["samples_per_second"].is_null());  // over the budget: not timed
  EXPECT_TRUE(j["b_simple"].is_null());
  EXPECT_EQ(j["recommended"], 32);
  EXPECT_EQ(j["settings"]["memory_budget"], 32.0);
  EXPECT_TRUE(batch_find_record(r, BatchFindConfig())["settings"]["memory_budget"].is_null());
  r.noise.batches = 20;
  EXPECT_EQ(batch_find_record(r, settings)["b_simple"], 5.0);
}

TEST(FinderRunsTest, RunsAreNumberedPerKindInANewOrExistingStudy) {
  TempDir dir;
  {
    auto storage = open_storage(dir.url("finders.db"));
    Json lr = lr_find_record(three_step_sweep(), LrFindConfig());
    EXPECT_EQ(record_finder_run(*storage, "mlp", "lr_find", lr), "knob:lr_find:0");
    EXPECT_EQ(record_finder_run(*storage, "mlp", "batch_find", Json{{"kind", "batch_find"}}),
              "knob:batch_find:0");
    EXPECT_EQ(record_finder_run(*storage, "mlp", "lr_find", lr), "knob:lr_find:1");
  }
  auto storage = open_storage(dir.url("finders.db"));  // kept in the file
  int64_t id = storage->study_id_from_name("mlp");
  EXPECT_EQ(storage->study_directions(id), std::vector<StudyDirection>{StudyDirection::kMinimize});
  EXPECT_EQ(storage->n_trials(id), 0);
  auto attrs = storage->study_user_attrs(id);
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs["knob:lr_find:1"]["suggested_lr"], 1e-3);
  EXPECT_EQ(attrs["knob:batch_find:0"]["kind"], "batch_find");
}

TEST(FinderRunsTest, AnUnknownKindIsRefusedNamingIt) {
  auto storage = open_storage(":memory:");
  for (const std::string kind : {"", "lr-find", "knob:lr_find", "LR_FIND"}) {
    testing::expect_invalid("kind '" + kind + "'",
                            [&] { record_finder_run(*storage, "s", kind, Json{}); },
                            {"kind", "lr_find or batch_find"});
  }
  EXPECT_TRUE(storage->all_studies().empty());  // nothing made for a refused run
}

// knob lr-find / batch-find --storage runs reach the dashboard's study page as user
// attributes, and add no trial.
TEST(FinderRunsTest, RunsReachTheDashboardsStudyPage) {
  TempDir dir;
  std::shared_ptr<Storage> storage = open_storage(dir.url("dash.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("mlp"));
  for (double value : {5.0, 3.0}) {
    Trial t = study.ask();
    t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
    study.tell(t, TrialState::kComplete, {value});
  }
  LrFindResult lr;
  lr.lrs = {1e-3, 1e-2};
  lr.losses = lr.smoothed = {1.0, 0.5};
  lr.chosen = "minimum";
  lr.lr = 1e-3;
  record_finder_run(*storage, "mlp", "lr_find", lr_find_record(lr, LrFindConfig()));
  BatchFindResult batch;
  batch.trials = {{16, true, 1.0, 100.0}};
  batch.recommended = 16;
  record_finder_run(*storage, "mlp", "batch_find", batch_find_record(batch, BatchFindConfig()));
  auto get_json = [&](const std::string& path, const std::multimap<std::string, std::string>& q) {
    HttpResponse r = handle_dashboard_get(*storage, path, q);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return Json::parse(r.body);
  };
  Json attrs = get_json("/api/study", {{"name", "mlp"}})["user_attrs"];
  EXPECT_EQ(attrs["knob:lr_find:0"]["smoothed"], Json::array({1.0, 0.5}));
  EXPECT_EQ(attrs["knob:lr_find:0"]["suggested_lr"], 1e-3);
  EXPECT_EQ(attrs["knob:batch_find:0"]["recommended"], 16);
  EXPECT_EQ(get_json("/api/studies", {})[0]["n_trials"], 2);  // no trial added
}

}  // namespace
}  // namespace knob
