// Warm starts and ask/tell as the CLI drives them (warm_start.h, trial_file.h, ask_tell.h):
// an export read back (CSV and JSON) adds the same trials; [[study.enqueue]] is read and
// enqueued once; ask/tell finish trials; and a table of malformed inputs, each of which must
// name the flag (or file and row) and the value and leave the SQLite file byte-identical.
#include "knob/run/warm_start.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/report/export.h"
#include "knob/run/ask_tell.h"
#include "knob/run/trial_file.h"
#include "knob/storage/open_storage.h"
#include "testing/test_support.h"

namespace knob::run {
namespace {

using testing::expect_contains;
using testing::TempDir;

constexpr const char* kSpace =
    R"({"lr": {"name": "FloatDistribution", "attributes": {"low": 0.0001, "high": 0.1, "log": true, "step": null}},
        "batch": {"name": "IntDistribution", "attributes": {"low": 16, "high": 512, "log": true, "step": 1}},
        "opt": {"name": "CategoricalDistribution", "attributes": {"choices": ["sgd", "adam", null]}}})";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A study with three finished trials (one PRUNED with intermediate values) and a RUNNING one.
void make_study(const std::string& url, const std::string& name) {
  create_study(StudyOptions().storage(url).study_name(name));
  for (int i = 0; i < 4; ++i) {
    AskedTrial t = ask(AskOptions().storage(url).study_name(name).search_space(kSpace));
    EXPECT_EQ(t.number, i);
    if (i == 3) break;
    if (i == 1) {
      auto storage = open_storage(url);
      storage->set_trial_intermediate_values(
          storage->trial_id_from_number(storage->study_id_from_name(name), i), {{1, 0.5}});
    }
    tell(TellOptions()
             .storage(url)
             .study_name(name)
             .trial_number(t.number)
             .state(i == 1 ? "pruned" : "")
             .values(i == 1 ? std::vector<double>{} : std::vector<double>{0.1 * (i + 1)}));
  }
}

TEST(AskTellTest, AskSuggestsTheSpaceAndTellFinishes) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  make_study(url, "s");
  auto storage = open_storage(url);
  auto trials = storage->trials(storage->study_id_from_name("s"));
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
  EXPECT_EQ(trials[1].state, TrialState::kPruned);
  EXPECT_EQ(trials[1].values, std::vector<double>{0.5});  // its last intermediate value
  EXPECT_EQ(trials[3].state, TrialState::kRunning);
  EXPECT_EQ(trials[0].distributions.size(), 3u);
  // skip_if_finished: no error, nothing changed.
  ToldTrial again =
      tell(TellOptions().storage(url).study_name("s").trial_number(0).values({9}).skip_if_finished(
          true));
  EXPECT_TRUE(again.skipped);
  EXPECT_EQ(storage->trial(trials[0].trial_id).values, std::vector<double>{0.1});
  // An enqueued trial is asked first, with its fixed parameters.
  EXPECT_TRUE(enqueue(EnqueueOptions().storage(url).study_name("s").params(
      R"({"lr": 0.001, "batch": 32, "opt": null})")));
  EXPECT_FALSE(enqueue(EnqueueOptions()
                           .storage(url)
                           .study_name("s")
                           .params(R"({"lr": 0.001, "batch": 32, "opt": null})")
                           .skip_if_exists(true)));
  AskedTrial fixed = ask(
      AskOptions().storage(url).study_name("s").search_space(kSpace).sampler("tpe").sampler_kwargs(
          R"({"seed": 1, "n_startup_trials": 2})"));
  EXPECT_EQ(format_asked(fixed, "json", false),
            "{\"number\": 4, \"params\": {\"lr\": 0.001, \"batch\": 32, \"opt\": null}}\n");
  EXPECT_EQ(format_asked(fixed, "json", true),
            "{\"number\": 4, \"params_lr\": 0.001, \"params_batch\": 32, \"params_opt\": null}\n");
  EXPECT_EQ(format_asked(fixed, "yaml", false),
            "number: 4\nparams:\n  batch: 32\n  lr: 0.001\n  opt: null\n");
  EXPECT_EQ(format_asked(fixed, "value", false), "4 {'lr': 0.001, 'batch': 32, 'opt': None}\n");
  EXPECT_EQ(format_asked(fixed, "value", true), "4 0.001 32 None\n");
  expect_contains(format_asked(fixed, "table", false), {"| number | params ", "|      4 | {'lr'"});
  EXPECT_EQ(format_asked(ask(AskOptions().storage(url).study_name("s")), "json", false),
            "{\"number\": 5, \"params\": {}}\n");
}

TEST(TrialFileTest, ExportsAddBackAsTheyWere) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  make_study(url, "s");
  auto storage = open_storage(url);
  const int64_t id = storage->study_id_from_name("s");
  const auto trials = storage->trials(id);
  write_file(dir.file("s.json"),
             dumps(study_to_json("s", storage->study_directions(id), {}, trials)));
  write_file(dir.file("s.csv"), trials_to_csv(trials, 1));
  const std::vector<FrozenTrial> finished(trials.begin(), trials.begin() + 3);
  for (const char* file : {"s.json", "s.csv"}) {
    SCOPED_TRACE(file);
    const std::string name = std::string("from-") + file;
    storage->create_study(name, {StudyDirection::kMinimize});
    // A CSV holds no distributions: the new study takes them from --search-space.
    AddTrialsResult r = add_trials(AddTrialsOptions()
                                       .storage(url)
                                       .study_name(name)
                                       .from(dir.file(file))
                                       .search_space(std::string(file) == "s.csv" ? kSpace : ""));
    EXPECT_EQ(r.n_added, 3);
    EXPECT_EQ(r.n_unfinished_skipped, 1);
    const auto added = storage->trials(storage->study_id_from_name(name));
    ASSERT_EQ(added.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(added[i].state, finished[i].state);
      EXPECT_EQ(added[i].values, finished[i].values);
      EXPECT_EQ(added[i].params(), finished[i].params());
      EXPECT_EQ(added[i].distributions, finished[i].distributions);
      EXPECT_EQ(format_datetime(*added[i].datetime_start),
                format_datetime(*finished[i].datetime_start));
      if (std::string(file) == "s.json") {
        EXPECT_EQ(added[i].intermediate_values, finished[i].intermediate_values);
      }
    }
  }
  // From another study, into the same storage.
  storage->create_study("from-study", {StudyDirection::kMinimize});
  EXPECT_EQ(
      add_trials(AddTrialsOptions().storage(url).study_name("from-study").from_study("s")).n_added,
      3);
}

TEST(StudyFileEnqueueTest, ReadsTablesAndEnqueuesOnce) {
  StudyConfig c = parse_study_config(R"(
[study]
name = "s"
[[study.enqueue]]
"optimizer.lr" = 1e-3
batch.size = 32
[[study.enqueue]]
"optimizer.lr" = 0.01
[search]
"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }
"batch.size" = { low = 16, high = 512, log = true }
)",
                                     "s.toml");
  ASSERT_EQ(c.enqueue.size(), 2u);
  EXPECT_EQ(c.enqueue[0].at("optimizer.lr"), ParamValue(1e-3));
  EXPECT_EQ(c.enqueue[0].at("batch.size"), ParamValue(int64_t{32}));
  TempDir dir;
  Study a = create_study(StudyOptions().storage(dir.url("s.db")).study_name("s"));
  EXPECT_EQ(enqueue_config_trials(a, c), 2u);
  EXPECT_EQ(enqueue_config_trials(a, c), 0u);  // a resume, a second worker
  EXPECT_EQ(a.trials({TrialState::kWaiting}).size(), 2u);
}

TEST(StudyFileEnqueueTest, MalformedTables) {
  const std::string search = "[search]\nlr = { low = 1e-4, high = 1e-1, log = true }\n";
  struct Case {
    std::string toml;
    std::vector<std::string> fragments;
  } cases[] = {
      {"[[study.enqueue]]\nlr = 0.5\n", {"s.toml", "study.enqueue[0].lr", "0.5", "must lie in"}},
      {"[[study.enqueue]]\nbatch = 32\n", {"study.enqueue[0].batch", "names no parameter", "lr"}},
      {"[[study.enqueue]]\nlr = \"big\"\n", {"study.enqueue[0].lr", "big"}},
      {"[[study.enqueue]]\nlr = [1, 2]\n", {"study.enqueue[0].lr", "number, string or bool"}},
      {"[study]\nenqueue = 3\n", {"study.enqueue", "3", "[[study.enqueue]]"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.toml, [&] { parse_study_config(c.toml + search, "s.toml"); }, c.fragments);
  }
}

// Each row runs against the same study file, which must stay byte-identical.
TEST(WarmStartTest, MalformedInputChangesNothing) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  make_study(url, "s");
  create_study(StudyOptions().storage(url).study_name("two").directions(
      {StudyDirection::kMinimize, StudyDirection::kMaximize}));
  write_file(dir.file("novalue.csv"), "number,params_lr,state\n0,0.01,COMPLETE\n");
  write_file(dir.file("outside.csv"), "value,params_lr\n0.5,0.01\n0.25,0.5\n");
  write_file(dir.file("badnum.csv"), "value,params_lr\n0.5,abc\n");
  write_file(dir.file("short.csv"), "value,params_lr\n0.5\n");
  write_file(dir.file("unknown.csv"), "value,params_zz\n0.5,1\n");
  write_file(dir.file("extra.csv"), "value,params_lr,colour\n0.5,0.01,red\n");
  write_file(dir.file("outside.json"),
             R"({"trials": [{"state": "COMPLETE", "values": [1.0], "params": {"lr": 0.01}},
                            {"state": "COMPLETE", "values": [1.0], "params": {"lr": 7}}]})");
  write_file(dir.file("badstate.json"), R"([{"state": "DONE", "values": [1.0]}])");
  write_file(dir.file("broken.json"), R"([{"state": )");
  write_file(dir.file("trials.txt"), "");
  const std::string db = dir.file("s.db");
  const std::string before = read_text_file(db);
  auto a = [&](std::string from, std::string space = "") {
    return [=] {
      add_trials(AddTrialsOptions().storage(url).study_name("s").from(from).search_space(space));
    };
  };
  auto t = [&](int64_t number, std::vector<double> values, std::string state = "") {
    return [=] {
      tell(TellOptions().storage(url).study_name("s").trial_number(number).values(values).state(
          state));
    };
  };
  struct Case {
    std::string name;
    std::function<void()> call;
    std::vector<std::string> fragments;
  } cases[] = {
      {"copy onto an existing name",
       [&] { copy(CopyOptions().from_storage(url).from_study("s").to_study("two")); },
       {"--to-study", "two", "already exists"}},
      {"copy from a missing study",
       [&] { copy(CopyOptions().from_storage(url).from_study("nope").to_study("x")); },
       {"--from-study", "nope", "it holds: s, two"}},
      {"tell a finished trial",
       t(0, {1.0}),
       {"--trial-number", "0", "already finished as COMPLETE"}},
      {"tell too many values", t(3, {1.0, 2.0}), {"--values", "1.0 2.0", "1 direction"}},
      {"tell no value", t(3, {}), {"--values", "(none)"}},
      {"tell an unknown state",
       t(3, {1.0}, "done"),
       {"--state", "done", "complete, pruned or fail"}},
      {"tell values with fail", t(3, {1.0}, "fail"), {"--values", "--state fail"}},
      {"tell an unknown trial", t(42, {1.0}), {"--trial-number", "42", "no trial"}},
      {"tell a missing study",
       [&] { tell(TellOptions().storage(url).study_name("nope").trial_number(0).values({1})); },
       {"--study-name", "nope"}},
      {"enqueue malformed params",
       [&] { enqueue(EnqueueOptions().storage(url).study_name("s").params("{lr: 1}")); },
       {"--params", "{lr: 1}"}},
      {"enqueue a list",
       [&] { enqueue(EnqueueOptions().storage(url).study_name("s").params("[1]")); },
       {"--params", "[1]", "JSON object"}},
      {"enqueue a nested value",
       [&] { enqueue(EnqueueOptions().storage(url).study_name("s").params(R"({"lr": [1]})")); },
       {"--params.lr"}},
      {"enqueue a choice not listed",
       [&] {
         enqueue(EnqueueOptions().storage(url).study_name("s").params(R"({"opt": "rmsprop"})"));
       },
       {"--params.opt", "rmsprop"}},
      {"ask malformed search space",
       [&] { ask(AskOptions().storage(url).study_name("s").search_space("{\"x\": ")); },
       {"--search-space"}},
      {"ask an unknown distribution",
       [&] {
         ask(AskOptions().storage(url).study_name("s").search_space(
             R"({"x": {"name": "Normal", "attributes": {}}})"));
       },
       {"--search-space.x", "Normal"}},
      {"ask an incompatible distribution",
       [&] {
         ask(AskOptions().storage(url).study_name("s").search_space(
             R"({"lr": {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 1.0, "log": false, "step": null}}})"));
       },
       {"--search-space.lr", "lr"}},
      {"ask an unknown sampler",
       [&] { ask(AskOptions().storage(url).study_name("s").sampler("TPESampler")); },
       {"--sampler", "TPESampler", "random, tpe"}},
      {"ask kwargs without sampler",
       [&] { ask(AskOptions().storage(url).study_name("s").sampler_kwargs("{}")); },
       {"--sampler-kwargs", "needs --sampler"}},
      {"ask a bad kwarg",
       [&] {
         ask(AskOptions().storage(url).study_name("s").sampler("tpe").sampler_kwargs(
             R"({"n_startup_trials": -1})"));
       },
       {"--sampler-kwargs", "n_startup_trials", "-1"}},
      {"CSV without value column", a(dir.file("novalue.csv")), {"novalue.csv", "value", "column"}},
      {"CSV param outside its distribution",
       a(dir.file("outside.csv")),
       {"outside.csv line 3", "params.lr", "0.5", "outside"}},
      {"CSV param not a number", a(dir.file("badnum.csv")), {"badnum.csv line 2 params_lr", "abc"}},
      {"CSV short row", a(dir.file("short.csv")), {"short.csv line 2", "1 fields"}},
      {"CSV param of no known distribution",
       a(dir.file("unknown.csv")),
       {"unknown.csv line 2 params_zz", "--search-space"}},
      {"CSV unknown column", a(dir.file("extra.csv")), {"extra.csv header column 3", "colour"}},
      {"CSV malformed --search-space", a(dir.file("outside.csv"), "{"), {"--search-space"}},
      {"JSON param outside",
       a(dir.file("outside.json")),
       {"outside.json trials[1]", "params.lr", "7"}},
      {"JSON unknown state",
       a(dir.file("badstate.json")),
       {"badstate.json trials[0].state", "DONE"}},
      {"JSON broken", a(dir.file("broken.json")), {"broken.json"}},
      {"file of another kind",
       a(dir.file("trials.txt")),
       {"--from", "trials.txt", ".csv or .json"}},
      {"missing file", a(dir.file("none.csv")), {"none.csv"}},
      {"ask in a missing database",
       [&] { ask(AskOptions().storage(dir.url("typo.db")).study_name("s")); },
       {"--storage", "typo.db", "no such file"}},
      {"copy from a missing database",
       [&] {
         copy(CopyOptions()
                  .from_storage(dir.url("typo.db"))
                  .from_study("s")
                  .to_storage(url)
                  .to_study("x"));
       },
       {"--from-storage", "typo.db"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      c.call();
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {  // InvalidArgument or NotFound: both exit 2
      expect_contains(e.what(), c.fragments);
    }
    EXPECT_TRUE(read_text_file(db) == before) << c.name << " changed " << db;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("typo.db")));
}

}  // namespace
}  // namespace knob::run
