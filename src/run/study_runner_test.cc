#include "knob/run/study_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/tuner/study_budget.h"
#include "testing/test_support.h"

namespace knob::run {
namespace {

using knob::testing::expect_contains;
using knob::testing::expect_invalid;
using knob::testing::TempDir;

// A study file whose objective is a shell command printing its parameter as the value.
std::string write_command_config(const TempDir& dir, const std::string& name,
                                 const std::string& study_table) {
  const std::string path = dir.file(name);
  std::ofstream(path) << "[study]\n"
                      << study_table << "\n[objective]\ncommand = \"echo knob:value {x}\"\n"
                      << "\n[search]\nx = { low = 0.0, high = 1.0 }\n";
  return path;
}

// Output and log kept for the checks, no progress line.
struct Quiet {
  std::ostringstream out, log;
  TuneOptions options() { return TuneOptions().quiet(true).out(&out).log(&log); }
};

int64_t finished_trials(const std::string& url, const std::string& name) {
  Study study = load_study(StudyOptions().storage(url).study_name(name));
  int64_t n = 0;
  for (const auto& t : study.trials()) {
    if (is_finished(t.state) && !t.system_attrs.count("knob:interrupted")) ++n;
  }
  return n;
}

// A guard that interrupts the study as soon as it is made: no trial starts.
class InterruptAtOnce : public RunGuard {
 public:
  explicit InterruptAtOnce(Study& study) { study.interrupt(); }
  bool interrupted() const override { return true; }
};

TEST(StudyRunnerTest, TunesABuiltinObjectiveAndPrintsTheBestTrial) {
  TempDir dir;
  Quiet q;
  TuneResult result =
      tune(q.options().storage(dir.url("s.db")).objective("branin").n_trials(5).seed(3));
  ASSERT_EQ(result.best.size(), 1u);
  EXPECT_FALSE(result.interrupted);
  expect_contains(q.out.str(), {"best value ", "  x = ", "  y = ", "known minimum of branin"});
  expect_contains(q.log.str(), {"[knob] study 'knob-branin' in " + dir.url("s.db")});
  EXPECT_EQ(finished_trials(dir.url("s.db"), "knob-branin"), 5);
}

TEST(StudyRunnerTest, ResumesAnInterruptedStudyToItsNTrials) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  Quiet first;
  tune(first.options().storage(url).study_name("r").objective("rosenbrock").n_trials(3));
  ASSERT_EQ(finished_trials(url, "r"), 3);

  Quiet stopped;
  TuneResult interrupted =
      tune(stopped.options()
               .storage(url)
               .study_name("r")
               .objective("rosenbrock")
               .n_trials(10)
               .guard([](Study& s) { return std::make_unique<InterruptAtOnce>(s); }));
  EXPECT_TRUE(interrupted.interrupted);
  // The command continues the same study: 3 trials before this run + its 10.
  expect_contains(interrupted.message,
                  {"study 'r' interrupted", "Continue with: knob tune --objective rosenbrock",
                   "--study-name r", "--storage " + url, "--n-trials 13", "--resume"});
  EXPECT_EQ(finished_trials(url, "r"), 3);

  Quiet resumed;
  TuneResult result =
      resume(resumed.options().storage(url).study_name("r").objective("rosenbrock").n_trials(10));
  EXPECT_FALSE(result.interrupted);
  expect_contains(resumed.log.str(), {"resuming study 'r': 3 trials finished", "7 to go"});
  EXPECT_EQ(finished_trials(url, "r"), 10);
}

TEST(StudyRunnerTest, ResumeOfAStudyThatDoesNotExistIsNotFound) {
  TempDir dir;
  Quiet q;
  EXPECT_THROW(resume(q.options().storage(dir.url("s.db")).study_name("none")), NotFound);
}

TEST(StudyRunnerTest, NTrialsZeroLeavesTheStudyReadyForWorkers) {
  TempDir dir;
  Quiet q;
  const std::string config = write_command_config(dir, "ready.toml", "n_trials = 5");
  TuneResult result = tune(q.options().config(config).storage(dir.url("s.db")).n_trials(0));
  EXPECT_TRUE(result.best.empty());
  expect_contains(q.log.str(), {"study 'ready' is ready, no trial run"});
  Study study = load_study(StudyOptions().storage(dir.url("s.db")).study_name("ready"));
  std::optional<StoredConfig> stored = load_stored_config(study);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->toml, read_text_file(config, "config"));
  EXPECT_EQ(stored->file, config);
}

TEST(StudyRunnerTest, WorkerStopsWhenTheStoredBudgetIsSpent) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  const std::string config = write_command_config(dir, "w.toml", "n_trials = 4\nseed = 1");
  Quiet first;
  TuneResult made = run_worker(first.options().config(config).storage(url));
  EXPECT_EQ(made.best.size(), 1u);
  EXPECT_EQ(finished_trials(url, "w"), 4);  // the config's budget, now the study's
  {
    Study study = load_study(StudyOptions().storage(url).study_name("w"));
    std::optional<StudyBudget> budget = load_study_budget(study);
    ASSERT_TRUE(budget);
    EXPECT_EQ(budget->n_trials(), 4);
  }
  // A second worker, from the stored config: the budget is spent, it runs nothing.
  Quiet second;
  TuneResult joined = run_worker(second.options().storage(url).study_name("w"));
  EXPECT_EQ(joined.best.size(), 1u);
  EXPECT_EQ(finished_trials(url, "w"), 4);
}

TEST(StudyRunnerTest, WorkerRefusesAStudyWithoutAStoredConfig) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  Quiet q;
  tune(q.options().storage(url).study_name("plain").n_trials(1));
  expect_invalid("no stored config",
                 [&] { run_worker(Quiet().options().storage(url).study_name("plain")); },
                 {"--study", "plain", "must be a study started by `knob tune CONFIG`"});
  expect_invalid("no study named", [&] { run_worker(Quiet().options().storage(url)); },
                 {"--study", "must name the study to join"});
  EXPECT_THROW(run_worker(Quiet().options().storage(url).study_name("missing")), NotFound);
}

TEST(StudyRunnerTest, OptionsThatAreSetOverrideTheFile) {
  TempDir dir;
  const std::string path = write_command_config(
      dir, "fm.toml",
      "storage = \"sqlite:///file.db\"\nn_trials = 5\ntimeout = 60\nsampler = \"tpe\"\n"
      "jobs = 2\nseed = 4");
  StudyConfig config = load_study_config(path);
  apply_options(TuneOptions().config(path).n_trials(9).storage("sqlite:///flag.db").jobs(3),
                Role::kTune, config);
  EXPECT_EQ(config.storage, "sqlite:///flag.db");
  EXPECT_EQ(config.n_trials, 9);
  EXPECT_EQ(config.jobs, 3);
  EXPECT_EQ(config.timeout, 60.0);  // unset options keep the file's
  EXPECT_EQ(config.sampler, "tpe");
  EXPECT_EQ(config.seed, 4u);
  EXPECT_EQ(config.name, "fm");  // the file's stem without [study] name
  EXPECT_FALSE(config.heartbeat_interval);

  StudyConfig worker = load_study_config(path);
  apply_options(TuneOptions().config(path).study_name("named").jobs(kJobsAuto), Role::kWorker,
                worker);
  EXPECT_EQ(worker.name, "named");
  EXPECT_EQ(worker.jobs, every_core());
  EXPECT_EQ(worker.heartbeat_interval, 10.0);  // workers die: heartbeats and retries
  EXPECT_EQ(worker.max_retry, 3);

  StudyConfig grid = load_study_config(path);
  expect_invalid(
      "grid by option",
      [&] { apply_options(TuneOptions().config(path).sampler("grid"), Role::kTune, grid); },
      {"--sampler", "grid", "cannot replace a config's sampler"});
}

TEST(StudyRunnerTest, TrialsTimesThreadsSharesTheCores) {
  EXPECT_EQ(threads_per_trial(1, 8), std::nullopt);  // one trial: the config's threads
  EXPECT_EQ(threads_per_trial(2, 8), 4);
  EXPECT_EQ(threads_per_trial(3, 8), 2);
  EXPECT_EQ(threads_per_trial(8, 8), 1);
  EXPECT_EQ(threads_per_trial(16, 8), 1);  // at least one
  EXPECT_EQ(resolve_jobs(kJobsAuto), every_core());
  EXPECT_EQ(resolve_jobs(5), 5);
  EXPECT_GE(every_core(), 1);
}

TEST(StudyRunnerTest, ParsesGridSpecs) {
  GridSampler::SearchSpace space = parse_grid({"x=-5,0,5", "kind=sgd,adam", "flag=true"});
  ASSERT_EQ(space.size(), 3u);
  EXPECT_EQ(space["x"].size(), 3u);
  EXPECT_EQ(space["kind"], (std::vector<ParamValue>{std::string("sgd"), std::string("adam")}));
  EXPECT_EQ(space["flag"], (std::vector<ParamValue>{true}));
  const std::vector<ParamValue> lr = parse_grid({"lr=0.001,0.1"})["lr"];
  EXPECT_EQ(lr, (std::vector<ParamValue>{0.001, 0.1}));
}

TEST(StudyRunnerTest, RefusesMalformedGridSpecs) {
  struct Row {
    const char* name;
    std::string spec;
    std::vector<std::string> fragments;
  };
  const std::vector<Row> rows = {
      {"no =", "x", {"--grid", "must look like NAME=V1,V2"}},
      {"no name", "=1,2", {"--grid", "must look like NAME=V1,V2"}},
      {"no values", "x=", {"--grid", "must look like NAME=V1,V2"}},
      {"empty value", "x=1,,2", {"--grid x", "must not have empty values"}},
      {"trailing comma", "x=1,", {"--grid x", "must not have empty values"}},
      {"leading comma", "x=,1", {"--grid x", "must not have empty values"}},
  };
  for (const auto& row : rows) {
    expect_invalid(
        row.name, [&] { parse_grid({row.spec}); }, row.fragments);
  }
}

TEST(StudyRunnerTest, RefusesBuiltinRunsWithTrainerOnlyOptions) {
  struct Row {
    const char* name;
    TuneOptions options;
    std::vector<std::string> fragments;
  };
  const std::vector<Row> rows = {
      {"--set", TuneOptions().overrides({"train.epochs=2"}), {"--set", "needs a study config"}},
      {"--isolate", TuneOptions().isolate(true), {"--isolate", "needs a study config"}},
      {"--tensorboard", TuneOptions().tensorboard("tb"), {"--tensorboard", "needs a study config"}},
      {"objective", TuneOptions().objective("nope"), {"--objective", "nope", "branin"}},
      {"percentile", TuneOptions().pruner("percentile"), {"--pruner", "options table"}},
      {"grid without values", TuneOptions().sampler("grid"), {"--grid", "must be given"}},
      {"grid with tpe", TuneOptions().sampler("tpe").grid({"x=1"}), {"--grid", "only with"}},
  };
  for (const auto& row : rows)
    expect_invalid(
        row.name, [&] { tune(row.options); }, row.fragments);
}

TEST(StudyRunnerTest, PrintBestSaysWhyNoTrialCompleted) {
  TempDir dir;
  Study study = create_study(StudyOptions().storage(dir.url("s.db")).study_name("empty"));
  std::ostringstream out;
  try {
    print_best(study, out);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    expect_contains(e.what(), {"no trial of study 'empty' completed", "no trial ran"});
  }
  study.optimize([](Trial&) -> double { throw Error("bad input"); }, OptimizeOptions().n_trials(1));
  try {
    print_best(study, out);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    expect_contains(e.what(), {"the last, trial 0, failed: ", "bad input"});
  }
  EXPECT_TRUE(out.str().empty());
}

// Issue 22, defect 4: the printed command dropped --set and --n-trials, so following it
// resumed a different study. Every option that shapes the study, quoted for /bin/sh.
TEST(StudyRunnerTest, ResumeCommandKeepsEveryOptionThatShapesTheStudy) {
  TuneOptions config_run = TuneOptions()
                               .config("my study.toml")
                               .overrides({"data.limit=20000", "model.kind=\"it's\""})
                               .timeout(90.5)
                               .jobs(kJobsAuto)
                               .seed(7)
                               .isolate(true)
                               .tensorboard("tb dir");
  EXPECT_EQ(resume_command(config_run, "sqlite:///a b.db", "s", 6),
            "knob tune 'my study.toml' --set data.limit=20000 --set 'model.kind=\"it'\\''s\"' "
            "--storage 'sqlite:///a b.db' --study-name s --n-trials 6 --timeout 90.5 --jobs auto "
            "--seed 7 --isolate --tensorboard 'tb dir' --resume");
  TuneOptions builtin = TuneOptions()
                            .objective("branin")
                            .sampler("grid")
                            .grid({"x=0,1", "y=2"})
                            .pruner("none")
                            .jobs(2);
  EXPECT_EQ(resume_command(builtin, "sqlite:///k.db", "$(rm -rf ~)", std::nullopt),
            "knob tune --objective branin --storage sqlite:///k.db --study-name '$(rm -rf ~)' "
            "--jobs 2 --sampler grid --grid x=0,1 --grid y=2 --pruner none --resume");
}

// Issue 22, defect 4: after kill -9, --resume said "5 to go" and ran 3, counting the trials
// the killed process left RUNNING. Without heartbeats nothing alive can own them: they are
// failed as interrupted and run again first, and the count is what runs.
TEST(StudyRunnerTest, ResumeRerunsTrialsAKilledProcessLeftRunning) {
  TempDir dir;
  const std::string url = dir.url("s.db");
  {
    Study study = create_study(StudyOptions().storage(url).study_name("k"));
    study.optimize([](Trial& t) { return t.suggest_float("x", -2.0, 2.0); },
                   OptimizeOptions().n_trials(1));
    for (int i = 0; i < 2; ++i) {  // asked, never told: what kill -9 leaves
      Trial t = study.ask();
      t.suggest_float("x", -2.0, 2.0);
      t.suggest_float("y", -1.0, 3.0);
    }
  }
  Quiet resumed;
  resume(resumed.options().storage(url).study_name("k").objective("rosenbrock").n_trials(6));
  expect_contains(resumed.log.str(),
                  {"1 trials finished, 2 interrupted ones run again first",
                   "2 of them left RUNNING by the process that ended", "5 to go"});
  Study study = load_study(StudyOptions().storage(url).study_name("k"));
  EXPECT_TRUE(study.trials({TrialState::kRunning}).empty());
  EXPECT_EQ(finished_trials(url, "k"), 6);
  int64_t left = 0;
  for (const auto& t : study.trials({TrialState::kFail})) {
    left += t.system_attrs.at("fail_reason").get<std::string>().find("left RUNNING") !=
            std::string::npos;
  }
  EXPECT_EQ(left, 2);
}

// Issue 22, defect 9: a --grid that misses a parameter of the objective failed every trial.
TEST(StudyRunnerTest, GridMustNameEveryParameterOfTheObjective) {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> rows = {
      {{"x=0,1"}, {"--grid = \"x\"", "branin (x, y)", "\"y\" is missing"}},
      {{"x=0", "y=1", "z=2"}, {"--grid = \"z\"", "not a parameter of branin"}},
  };
  for (const auto& row : rows) {
    // Named, not a structured binding: clang 14 cannot capture one in the lambda below.
    const auto& grid = row.first;
    const auto& fragments = row.second;
    Quiet q;
    expect_invalid(
        grid.back(),
        [&] {
          tune(q.options().storage(dir.url("g.db")).study_name("g").sampler("grid").grid(grid));
        },
        fragments);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("g.db")));  // nothing stored
}

// Issue 22, defect 11: a study whose trials all fail alike stopped only at its budget
// (151,139 FAIL trials). Its first 5 failing with one reason stop it, naming the reason.
TEST(StudyRunnerTest, StopsAStudyWhoseFirstTrialsAllFailAlike) {
  TempDir dir;
  const std::string path = dir.file("fail.toml");
  std::ofstream(path) << "[study]\nn_trials = 100\n[search]\nx = { low = 0.0, high = 1.0 }\n"
                      << "[objective]\ncommand = \"echo no data >&2; exit 3\"\n";
  Quiet q;
  try {
    tune(q.options().config(path).storage(dir.url("f.db")));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    expect_contains(e.what(), {"first 5 trials all failed with the same reason", "no data"});
  }
  Study study = load_study(StudyOptions().storage(dir.url("f.db")).study_name("fail"));
  EXPECT_EQ(study.trials().size(), 5u);
}

}  // namespace
}  // namespace knob::run
