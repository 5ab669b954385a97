// The range test as a study's prior (lr_prior.h), on a real SQLite study with a finder that
// counts its runs: once per optimizer kind, reused by a second handle on the same file (another
// worker, a resumed study), measured again when the stored prior is unusable, and a diverged
// test fails the trial naming what to change.
#include "knob/run/lr_prior.h"

#include <gtest/gtest.h>

#include <cmath>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob::run {
namespace {

using testing::expect_contains;
using testing::TempDir;

// A range test that suggests a learning rate per optimizer kind and counts its runs.
struct CountingFinder {
  int runs = 0;
  LrFindResult operator()(const TrainConfig& config) {
    ++runs;
    LrFindResult r;
    r.lrs = {1e-5, 1e-4, 1e-3};
    r.chosen = config.lr_find.suggestion;
    r.lr = config.optimizer.kind == "sgd" ? 0.01 : 3e-4;
    r.batch_size = config.batch.size;
    return r;
  }
};

TrainConfig find_config(const std::string& kind) {
  TrainConfig c;
  c.optimizer.kind = kind;
  c.lr_find.use = true;
  return c;
}

TEST(LrPriorTest, RunsOncePerOptimizerKindAndKeepsTheSuggestionInTheStudy) {
  TempDir dir;
  Study study = create_study(StudyOptions().storage(dir.url("p.db")).study_name("p"));
  CountingFinder finder;
  auto find = [&](const TrainConfig& c) { return finder(c); };

  TrainConfig first = find_config("sgd");
  EXPECT_TRUE(apply_lr_prior(study, first, 0, find));
  EXPECT_EQ(first.lr_find.known, 0.01);
  const Json kept = study.user_attrs().at("knob:lr_prior:sgd");
  EXPECT_EQ(kept.at("lr").get<double>(), 0.01);
  EXPECT_EQ(kept.at("trial").get<int64_t>(), 0);
  EXPECT_EQ(kept.at("suggestion").get<std::string>(), "valley");

  // Another handle on the same file (a second worker, or the study resumed): reused.
  Study again = load_study(StudyOptions().storage(dir.url("p.db")).study_name("p"));
  TrainConfig later = find_config("sgd");
  later.lr_find.factor = 4;
  EXPECT_FALSE(apply_lr_prior(again, later, 5, find));
  EXPECT_EQ(later.lr_find.known, 0.01);
  EXPECT_EQ(finder.runs, 1);

  // Another optimizer kind has a prior of its own.
  TrainConfig adam = find_config("adam");
  EXPECT_TRUE(apply_lr_prior(again, adam, 6, find));
  EXPECT_EQ(adam.lr_find.known, 3e-4);
  EXPECT_EQ(finder.runs, 2);
  EXPECT_EQ(study.user_attrs().count("knob:lr_prior:adam"), 1u);
}

TEST(LrPriorTest, DoesNothingWithoutFindOrWithAKnownSuggestion) {
  TempDir dir;
  Study study = create_study(StudyOptions().storage(dir.url("n.db")).study_name("n"));
  CountingFinder finder;
  auto find = [&](const TrainConfig& c) { return finder(c); };
  TrainConfig fixed;
  fixed.optimizer.lr = 0.05;
  EXPECT_FALSE(apply_lr_prior(study, fixed, 0, find));
  TrainConfig known = find_config("sgd");
  known.lr_find.known = 0.2;
  EXPECT_FALSE(apply_lr_prior(study, known, 0, find));
  EXPECT_EQ(known.lr_find.known, 0.2);
  EXPECT_EQ(finder.runs, 0);
  EXPECT_TRUE(study.user_attrs().empty());
}

// Database contents are outside input: a prior another program wrote that is not a positive
// finite learning rate is measured again and replaced, never trained with.
TEST(LrPriorTest, AnUnusableStoredPriorIsMeasuredAgain) {
  const std::vector<Json> unusable = {Json("0.01"),       Json::object(),    Json{{"lr", "fast"}},
                                      Json{{"lr", -1.0}}, Json{{"lr", 0.0}}, Json{{"lr", nullptr}}};
  for (const Json& stored : unusable) {
    SCOPED_TRACE(dumps(stored));
    TempDir dir;
    Study study = create_study(StudyOptions().storage(dir.url("u.db")).study_name("u"));
    study.set_user_attr("knob:lr_prior:sgd", stored);
    CountingFinder finder;
    TrainConfig c = find_config("sgd");
    EXPECT_TRUE(apply_lr_prior(study, c, 0, [&](const TrainConfig& x) { return finder(x); }));
    EXPECT_EQ(c.lr_find.known, 0.01);
    EXPECT_EQ(study.user_attrs().at("knob:lr_prior:sgd").at("lr").get<double>(), 0.01);
  }
}

TEST(LrPriorTest, ADivergedRangeTestFailsNamingWhatToChangeAndKeepsNothing) {
  TempDir dir;
  Study study = create_study(StudyOptions().storage(dir.url("d.db")).study_name("d"));
  TrainConfig c = find_config("sgd");
  auto diverged = [](const TrainConfig&) {
    LrFindResult r;
    r.lrs = {1e-5, 1e-4};
    r.stop_reason = "diverged";
    return r;
  };
  try {
    apply_lr_prior(study, c, 0, diverged);
    FAIL() << "a diverged range test gave a learning rate";
  } catch (const TrainingDiverged& e) {
    expect_contains(e.what(), {"diverged after 2 steps", "lr_find.end"});
  }
  EXPECT_TRUE(std::isnan(c.lr_find.known));
  EXPECT_TRUE(study.user_attrs().empty());
}

}  // namespace
}  // namespace knob::run
