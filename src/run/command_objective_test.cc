// CommandObjective with real child processes (/bin/sh scripts) on SQLite ":memory:" studies:
// values, reports and attributes stored; pruning and timeouts kill the whole process group;
// every way a program can fail ends its trial FAIL with a reason naming it, and the study
// goes on; placeholders are checked before any trial runs.
#include "knob/run/command_objective.h"
#include "knob/run/trial_protocol.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/sqlite_storage.h"
#include "process_test_support.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::gone_soon;
using testing::TempDir;

Study new_study(std::vector<StudyDirection> directions = {StudyDirection::kMinimize},
                std::shared_ptr<Pruner> pruner = std::make_shared<NopPruner>()) {
  return create_study(StudyOptions()
                          .storage_instance(std::make_shared<SqliteStorage>(":memory:"))
                          .study_name("cmd")
                          .directions(directions)
                          .pruner(pruner));
}

// Runs one trial of `objective`; returns the stored trial.
FrozenTrial run_one(Study& study, const CommandObjective& objective) {
  study.optimize(objective, 1);
  return study.trials().back();
}

std::string fail_reason(const FrozenTrial& t) {
  auto it = t.system_attrs.find("fail_reason");
  return it == t.system_attrs.end() ? "" : it->second.get<std::string>();
}

// Options that keep the children's chatter out of the test log.
CommandOptions quiet() {
  return CommandOptions().on_output([](const Trial&, bool, const std::string&) {});
}

int64_t read_pid(const std::string& path) {
  std::ifstream in(path);
  int64_t pid = 0;
  in >> pid;
  return pid;
}

int open_fd_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prunes every trial that has reported step 1.
class PruneAtStepOne : public Pruner {
 public:
  bool prune(Study&, const FrozenTrial& trial) override {
    return trial.intermediate_values.count(1) > 0;
  }
};

// A pruner that breaks: the objective is abandoned in the middle of a trial.
class ThrowingPruner : public Pruner {
 public:
  bool prune(Study&, const FrozenTrial&) override { throw std::runtime_error("pruner broke"); }
};

const std::vector<SearchParam> kSpace = {
    {"lr", FloatDistribution(1e-5, 1e-1, /*log=*/true)},
    {"width", IntDistribution(1, 1000)},
    {"kind", CategoricalDistribution({std::string("sgd"), std::string("adam")})}};

TEST(CommandObjectiveTest, StoresValuesReportsAndAttributes) {
  Study study = new_study();
  // The value is the learning rate as the program read it from its command line: it must be
  // the suggested double exactly. Reports depend on the width.
  auto objective = CommandObjective::shell(
      "echo 'training...'; "
      "for s in 0 1 2; do echo \"knob:report $s $(( {width} * (s + 1) ))\"; done; "
      "echo 'knob:attr kind \"{kind}\"'; echo 'knob:attr shape {{\"w\": [{width}]}}'; "
      "echo knob:value {lr}",
      kSpace, quiet());
  study.optimize(objective, 3);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
    auto params = t.params();
    EXPECT_EQ(t.values, std::vector<double>{std::get<double>(params.at("lr"))});
    int64_t width = std::get<int64_t>(params.at("width"));
    std::map<int64_t, double> expected = {{0, width * 1.0}, {1, width * 2.0}, {2, width * 3.0}};
    EXPECT_EQ(t.intermediate_values, expected);
    EXPECT_EQ(t.user_attrs.at("kind"), Json(std::get<std::string>(params.at("kind"))));
    EXPECT_EQ(t.user_attrs.at("shape"), Json::parse("{\"w\": [" + std::to_string(width) + "]}"));
  }
}

TEST(CommandObjectiveTest, ArgvModePassesValuesAsArguments) {
  Study study = new_study();
  std::vector<std::string> seen;
  std::mutex mutex;
  CommandObjective objective(
      {"/bin/sh", "-c", "echo \"arg $1\"; echo \"err $2\" >&2; echo knob:value $1", "sh", "{width}",
       "k={kind}"},
      kSpace, CommandOptions().on_output([&](const Trial&, bool is_stderr, const std::string& l) {
        std::lock_guard<std::mutex> lock(mutex);
        seen.push_back((is_stderr ? "stderr: " : "stdout: ") + l);
      }));
  FrozenTrial t = run_one(study, objective);
  ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
  int64_t width = std::get<int64_t>(t.params().at("width"));
  EXPECT_EQ(t.values, std::vector<double>{static_cast<double>(width)});
  std::string kind = std::get<std::string>(t.params().at("kind"));
  std::vector<std::string> expected = {"stdout: arg " + std::to_string(width),
                                       "stderr: err k=" + kind};
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);  // protocol lines are not passed on
}

TEST(CommandObjectiveTest, ProgramSeesItsTrialInTheEnvironment) {
  Study study = new_study();
  auto objective = CommandObjective::shell(
      "echo \"knob:attr number $KNOB_TRIAL_NUMBER\"; echo \"knob:attr id $KNOB_TRIAL_ID\"; "
      "echo \"knob:attr study \\\"$KNOB_STUDY_NAME\\\"\"; "
      "echo \"knob:attr storage \\\"$KNOB_STORAGE\\\"\"; echo \"knob:attr extra \\\"$EXTRA\\\"\"; "
      "echo \"knob:attr params $KNOB_PARAMS\"; echo knob:value 1",
      kSpace, quiet().storage_url("sqlite:///where.db").env({{"EXTRA", "x y"}}));
  study.optimize(objective, 2);
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
    EXPECT_EQ(t.user_attrs.at("number"), Json(t.number));
    EXPECT_EQ(t.user_attrs.at("id"), Json(t.trial_id));
    EXPECT_EQ(t.user_attrs.at("study"), Json("cmd"));
    EXPECT_EQ(t.user_attrs.at("storage"), Json("sqlite:///where.db"));
    EXPECT_EQ(t.user_attrs.at("extra"), Json("x y"));
    Json params = Json::object();
    for (const auto& [name, value] : t.params()) params[name] = to_json(value);
    // Floats read back exactly; key order does not matter.
    EXPECT_EQ(nlohmann::json(t.user_attrs.at("params")), nlohmann::json(params));
  }
}

TEST(CommandObjectiveTest, ShellQuotesValuesThatAreNotPlainWords) {
  Study study = new_study();
  std::vector<ParamValue> choices = {std::string("a b"), std::string("it's"),
                                     std::string("$HOME;x"), std::string("*")};
  std::vector<SearchParam> space = {{"s", CategoricalDistribution(choices)}};
  for (const auto& c : choices) study.enqueue_trial({{"s", c}});
  auto objective = CommandObjective::shell("printf 'knob:attr s \"%s\"\\n' {s}; echo knob:value 0",
                                           space, quiet());
  study.optimize(objective, 4);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 4u);
  for (size_t i = 0; i < trials.size(); ++i) {
    ASSERT_EQ(trials[i].state, TrialState::kComplete) << fail_reason(trials[i]);
    EXPECT_EQ(trials[i].user_attrs.at("s"), Json(std::get<std::string>(choices[i])));
  }
}

TEST(CommandObjectiveTest, MultiObjectiveTakesOneValuePerDirection) {
  Study study = new_study({StudyDirection::kMinimize, StudyDirection::kMaximize});
  auto objective =
      CommandObjective::shell("echo knob:value {width} $(( {width} * 2 ))", kSpace, quiet());
  FrozenTrial t = run_one(study, objective);
  ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
  double width = static_cast<double>(std::get<int64_t>(t.params().at("width")));
  EXPECT_EQ(t.values, (std::vector<double>{width, 2 * width}));
  // One value for two directions is a protocol error.
  t = run_one(study, CommandObjective::shell("echo knob:value 1", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"knob:value 1", "2 value(s)"});
}

TEST(CommandObjectiveTest, ConstraintsAreStoredWhereOptunaKeepsThem) {
  Study study = new_study({StudyDirection::kMinimize, StudyDirection::kMaximize});
  auto objective = CommandObjective::shell(
      "echo 'knob:constraints [{width}, -0.5]'; echo knob:value {width} 1", kSpace, quiet());
  FrozenTrial t = run_one(study, objective);
  ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
  const auto width = std::get<int64_t>(t.params().at("width"));
  ASSERT_TRUE(t.system_attrs.count("constraints"));
  EXPECT_EQ(dumps(t.system_attrs.at("constraints")),
            "[" + std::to_string(width) + ".0, -0.5]");  // floats, as Optuna writes them
  EXPECT_EQ(t.user_attrs.count("constraints"), 0u);
  // A second line, or a malformed one, fails the trial and stores nothing new.
  t = run_one(study,
              CommandObjective::shell("echo 'knob:constraints [1]'; echo 'knob:constraints [2]'; "
                                      "echo knob:value 1 1",
                                      kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"\"knob:constraints [2]\"", "second"});
  EXPECT_EQ(t.system_attrs.at("constraints"), Json::array({1.0}));
  t = run_one(study, CommandObjective::shell("echo 'knob:constraints 1'; echo knob:value 1 1",
                                             kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"\"knob:constraints 1\"", "JSON list"});
  EXPECT_EQ(t.system_attrs.count("constraints"), 0u);
}

TEST(CommandObjectiveTest, PruningKillsTheProcessGroup) {
  TempDir dir;
  Study study = new_study({StudyDirection::kMinimize}, std::make_shared<PruneAtStepOne>());
  auto objective = CommandObjective::shell(
      "echo $$ > \"$DIR/pid\"; sleep 30 & echo $! > \"$DIR/child\"; "
      "echo 'knob:report 0 0.5'; echo 'knob:report 1 0.25'; sleep 30; echo knob:value 0",
      kSpace, quiet().env({{"DIR", dir.path()}}));
  auto start = std::chrono::steady_clock::now();
  FrozenTrial t = run_one(study, objective);
  EXPECT_LT(seconds_since(start), 5.0);  // SIGTERM: no grace period needed
  EXPECT_EQ(t.state, TrialState::kPruned);
  EXPECT_EQ(t.values, std::vector<double>{0.25});  // the last report, as in Optuna
  int64_t pid = read_pid(dir.file("pid")), child = read_pid(dir.file("child"));
  ASSERT_GT(pid, 0);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(gone_soon(pid));
  EXPECT_TRUE(gone_soon(child)) << "the program's own child survived";
}

TEST(CommandObjectiveTest, ProgramThatPrunesItselfEndsPrunedWithItsReason) {
  // No pruner: the program itself says the trial is hopeless (as raising optuna.TrialPruned).
  Study study = new_study({StudyDirection::kMinimize});
  FrozenTrial t =
      run_one(study, CommandObjective::shell("echo 'knob:report 0 0.5'; echo 'knob:report 1 7'; "
                                             "echo 'knob:prune loss is nan at step 12'; exit 0",
                                             kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kPruned);
  EXPECT_EQ(t.values, std::vector<double>{7.0});  // the last report, as in Optuna
  EXPECT_EQ(t.intermediate_values.size(), 2u);
  EXPECT_EQ(t.system_attrs.at(kPruneReasonAttr), Json("loss is nan at step 12"));
  EXPECT_EQ(t.system_attrs.count("fail_reason"), 0u);

  // Without a reason nothing is stored beside the state; a value printed after it is not taken.
  t = run_one(study,
              CommandObjective::shell("echo knob:prune; echo knob:value 3", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kPruned);
  EXPECT_EQ(t.system_attrs.count(kPruneReasonAttr), 0u);
}

TEST(CommandObjectiveTest, PrunedProgramIgnoringSigtermIsKilledAfterTheGrace) {
  TempDir dir;
  Study study = new_study({StudyDirection::kMinimize}, std::make_shared<PruneAtStepOne>());
  // The program ignores SIGTERM; its helper process (same group) stops cleanly on SIGTERM: the
  // signal goes to the whole group, and SIGKILL follows after the grace period.
  auto objective = CommandObjective::shell(
      "sh -c 'trap \"echo term > $DIR/term; exit 0\" TERM; touch $DIR/ready; "
      "while :; do sleep 0.02; done' & "
      "trap '' TERM; echo $$ > \"$DIR/pid\"; "
      "while [ ! -e \"$DIR/ready\" ]; do sleep 0.01; done; "
      "echo 'knob:report 0 1'; echo 'knob:report 1 2'; while :; do sleep 0.05; done",
      kSpace, quiet().env({{"DIR", dir.path()}}).kill_grace(0.3));
  auto start = std::chrono::steady_clock::now();
  FrozenTrial t = run_one(study, objective);
  double took = seconds_since(start);
  EXPECT_EQ(t.state, TrialState::kPruned);
  EXPECT_GE(took, 0.3);
  EXPECT_LT(took, 5.0);
  EXPECT_TRUE(gone_soon(read_pid(dir.file("pid"))));
  EXPECT_TRUE(std::filesystem::exists(dir.file("term"))) << "the helper never saw SIGTERM";
}

TEST(CommandObjectiveTest, TimeoutKillsAndFails) {
  TempDir dir;
  Study study = new_study();
  auto objective = CommandObjective::shell(
      "echo $$ > \"$DIR/pid\"; echo 'knob:report 0 1'; sleep 30; echo knob:value 1", kSpace,
      quiet().env({{"DIR", dir.path()}}).timeout(0.3).kill_grace(0.5));
  auto start = std::chrono::steady_clock::now();
  FrozenTrial t = run_one(study, objective);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"timed out after 0.3 s"});
  EXPECT_EQ(t.intermediate_values.size(), 1u);  // what it reported before is kept
  EXPECT_TRUE(gone_soon(read_pid(dir.file("pid"))));
}

TEST(CommandObjectiveTest, InterruptStopsTheProgramAndFailsTheTrialAsInterrupted) {
  TempDir dir;
  Study study = new_study();
  auto objective = CommandObjective::shell(
      "echo $$ > \"$DIR/pid\"; echo 'knob:report 0 1'; sleep 30; echo knob:value 1", kSpace,
      quiet().env({{"DIR", dir.path()}}).kill_grace(0.5));
  // Interrupt once the report is stored (not merely once the program runs: its report line may
  // not have been read yet), so the test sees what an interrupted trial keeps.
  auto reported = [&] {
    auto trials = study.trials();
    return !trials.empty() && !trials[0].intermediate_values.empty();
  };
  std::thread interrupter([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    while (!reported() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    study.interrupt();
  });
  auto start = std::chrono::steady_clock::now();
  study.optimize(objective, 3);
  interrupter.join();
  EXPECT_LT(seconds_since(start), 10.0);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 1u);  // no trial starts after the interruption
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  expect_contains(fail_reason(trials[0]), {"stopped: the study was interrupted"});
  EXPECT_EQ(trials[0].system_attrs.at("knob:interrupted"), Json(true));
  EXPECT_EQ(trials[0].intermediate_values.size(), 1u);
  EXPECT_TRUE(gone_soon(read_pid(dir.file("pid"))));
}

TEST(CommandObjectiveTest, NonZeroExitFailsWithTheCodeAndTheEndOfStderr) {
  Study study = new_study();
  FrozenTrial t =
      run_one(study, CommandObjective::shell("echo early >&2; echo 'the real reason' >&2; exit 3",
                                             kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"exited with code 3", "early\nthe real reason"});
  // A value printed before a failing exit does not make the trial COMPLETE.
  t = run_one(
      study, CommandObjective::shell("echo knob:value 1; exit 1", kSpace, quiet().name("trainer")));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"'trainer' exited with code 1"});
  // A long stderr: its last ~4 KB are kept, ending with the last line.
  t = run_one(study,
              CommandObjective::shell("i=0; while [ $i -lt 2000 ]; do echo \"noise line $i\" >&2; "
                                      "i=$((i+1)); done; echo 'last words' >&2; exit 4",
                                      kSpace, quiet()));
  std::string reason = fail_reason(t);
  expect_contains(reason, {"exited with code 4", "last words", "noise line 1999"});
  EXPECT_EQ(reason.find("noise line 0\n"), std::string::npos);
  EXPECT_LT(reason.size(), 4500u);
}

TEST(CommandObjectiveTest, DeathBySignalNamesTheSignal) {
  Study study = new_study();
  FrozenTrial t = run_one(study, CommandObjective::shell("kill -9 $$", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"signal 9", "SIGKILL", "possibly out of memory"});
  t = run_one(study, CommandObjective::shell("echo dying >&2; kill -SEGV $$", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"signal 11", "SIGSEGV", "dying"});
  EXPECT_EQ(fail_reason(t).find("out of memory"), std::string::npos);
}

TEST(CommandObjectiveTest, MissingProgramFailsNamingIt) {
  Study study = new_study();
  FrozenTrial t = run_one(study, CommandObjective({"knob-no-such-program", "{width}"}, kSpace));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"knob-no-such-program", "not found on PATH"});
  t = run_one(study, CommandObjective({"/no/such/dir/prog"}, kSpace));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"/no/such/dir/prog", "not found"});
  // Through the shell: exit code 127.
  t = run_one(study, CommandObjective::shell("knob-no-such-program", kSpace, quiet()));
  expect_contains(fail_reason(t), {"exited with code 127", "knob-no-such-program"});
  EXPECT_EQ(study.trials().size(), 3u);  // the study went on
}

TEST(CommandObjectiveTest, MalformedProtocolLinesFailNamingTheLine) {
  struct Case {
    std::string line;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"knob:report x y", "STEP VALUE"},
      {"knob:report 1", "STEP VALUE"},
      {"knob:report -1 0.5", "integer >= 0"},
      {"knob:report 1.5 0.5", "integer >= 0"},
      {"knob:report 1 0.5 extra", "STEP VALUE"},
      {"knob:attr note {not json", "not JSON"},
      {"knob:attr", "KEY JSON"},
      {"knob:attr onlykey", "KEY JSON"},
      {"knob:value abc", "numbers only"},
      {"knob:value", "1 value(s)"},
      {"knob:value 1 2", "1 value(s)"},
      {"knob:values 1", "unknown"},
  };
  Study study = new_study();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto start = std::chrono::steady_clock::now();
    // The program would go on for 30 s: a malformed line stops it.
    FrozenTrial t = run_one(study, CommandObjective::shell("echo '" + escape_placeholders(c.line) +
                                                               "'; sleep 30; echo knob:value 1",
                                                           kSpace, quiet().kill_grace(1)));
    EXPECT_LT(seconds_since(start), 3.0);
    EXPECT_EQ(t.state, TrialState::kFail);
    expect_contains(fail_reason(t), {"\"" + c.line + "\"", c.why});
  }
}

TEST(CommandObjectiveTest, SecondValueLineFails) {
  Study study = new_study();
  FrozenTrial t = run_one(
      study, CommandObjective::shell("echo knob:value 1; echo knob:value 2", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"\"knob:value 2\"", "second"});
}

TEST(CommandObjectiveTest, ExitWithoutValueFailsAndDoesNotGuess) {
  Study study = new_study();
  FrozenTrial t = run_one(study, CommandObjective::shell("echo done", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"exited 0 without a final value", "knob:value V"});
  EXPECT_EQ(fail_reason(t).find("bare number"), std::string::npos);
  t = run_one(study, CommandObjective::shell("echo 'accuracy:'; echo 0.93", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kFail);
  EXPECT_TRUE(t.values.empty());
  expect_contains(fail_reason(t), {"knob:value V", "\"0.93\"", "bare number"});
  // "knob:" followed by a space is ordinary output, not a protocol line.
  t = run_one(study,
              CommandObjective::shell("echo 'knob: starting'; echo knob:value 3", kSpace, quiet()));
  EXPECT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
}

TEST(CommandObjectiveTest, AbandonedTrialKillsItsProgram) {
  TempDir dir;
  Study study = new_study({StudyDirection::kMinimize}, std::make_shared<ThrowingPruner>());
  auto objective = CommandObjective::shell(
      "echo $$ > \"$DIR/pid\"; echo 'knob:report 0 1'; sleep 30; echo knob:value 1", kSpace,
      quiet().env({{"DIR", dir.path()}}));
  auto start = std::chrono::steady_clock::now();
  FrozenTrial t = run_one(study, objective);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(t.state, TrialState::kFail);
  expect_contains(fail_reason(t), {"pruner broke"});
  EXPECT_TRUE(gone_soon(read_pid(dir.file("pid"))));
}

TEST(CommandObjectiveTest, ProgramExitingBeforeItsBackgroundChildrenDoesNotHang) {
  TempDir dir;
  Study study = new_study();
  // The background sleep holds stdout open after the shell exits; it is killed with the group.
  auto objective = CommandObjective::shell("sleep 30 & echo $! > \"$DIR/child\"; echo knob:value 2",
                                           kSpace, quiet().env({{"DIR", dir.path()}}));
  auto start = std::chrono::steady_clock::now();
  FrozenTrial t = run_one(study, objective);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
  EXPECT_EQ(t.values, std::vector<double>{2});
  EXPECT_TRUE(gone_soon(read_pid(dir.file("child"))));
}

TEST(CommandObjectiveTest, TrialsRunAtOnceLeakNoFileDescriptors) {
  Study study = new_study();
  auto objective = CommandObjective::shell(
      "echo 'knob:report 0 {width}'; [ {width} -gt 500 ] && exit 1; echo knob:value {width}",
      kSpace, quiet());
  study.optimize(objective, 2);  // warm up whatever opens files once (SQLite, locale)
  int before = open_fd_count();
  study.optimize(objective, OptimizeOptions().n_trials(12).n_jobs(3));
  EXPECT_EQ(open_fd_count(), before);
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 14u);
  for (const auto& t : trials) {
    int64_t width = std::get<int64_t>(t.params().at("width"));
    EXPECT_EQ(t.state, width > 500 ? TrialState::kFail : TrialState::kComplete);
  }
}

TEST(CommandObjectiveTest, PlaceholdersAreCheckedBeforeAnyTrial) {
  auto message = [](const std::function<void()>& make) -> std::string {
    try {
      make();
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    ADD_FAILURE() << "no InvalidArgument";
    return "";
  };
  expect_contains(message([] {
                    CommandObjective({"train", "--depth={depth}"}, kSpace);
                  }),
                  {"{depth}", "--depth={depth}", "lr, width, kind", "{{"});
  expect_contains(message([] { CommandObjective::shell("echo {lr", kSpace); }),
                  {"echo {lr", "without '}'"});
  expect_contains(message([] { CommandObjective({}, kSpace); }), {"command"});
  expect_contains(message([] { CommandObjective::shell("awk '{print $1}'", kSpace); }),
                  {"{print $1}"});
  // Doubled braces are literal; a placeholder may sit inside a word.
  CommandObjective ok({"prog", "{{lr}}", "x{width}y", "}"}, kSpace);
  EXPECT_EQ(ok.expand({{"lr", 0.5}, {"width", int64_t{7}}, {"kind", std::string("sgd")}}),
            (std::vector<std::string>{"prog", "{lr}", "x7y", "}"}));
  EXPECT_EQ(escape_placeholders("a{b}c"), "a{{b}}c");
}

// A conditional parameter reaches the program through KNOB_PARAMS only, and only in the trials
// whose conditions hold; a placeholder for it is refused before any trial.
TEST(CommandObjectiveTest, ConditionalParametersArriveInKnobParamsOnly) {
  const std::vector<SearchParam> space = {
      {"momentum", FloatDistribution(0.5, 0.99), {{"kind", {std::string("sgd")}}}},
      {"kind", CategoricalDistribution({std::string("sgd"), std::string("adam")})},
  };
  try {
    CommandObjective({"train", "--momentum={momentum}"}, space);
    ADD_FAILURE() << "no InvalidArgument";
  } catch (const InvalidArgument& e) {
    expect_contains(e.what(), {"{momentum}", "conditional", "KNOB_PARAMS"});
  }
  Study study = new_study();
  study.optimize(CommandObjective::shell(
                     "echo \"knob:attr params $KNOB_PARAMS\"; echo knob:value 1", space, quiet()),
                 12);
  std::set<std::string> kinds;
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete) << fail_reason(t);
    const Json& params = t.user_attrs.at("params");
    const std::string kind = params.at("kind").get<std::string>();
    kinds.insert(kind);
    EXPECT_EQ(params.contains("momentum"), kind == "sgd") << dumps(params);
    EXPECT_EQ(t.params().size(), params.size());
  }
  EXPECT_EQ(kinds.size(), 2u);
}

TEST(CommandObjectiveTest, FormatValueChoosesTheText) {
  CommandObjective objective(
      {"prog", "--set", "kind={kind}", "lr={lr}"}, kSpace,
      CommandOptions().format_value(
          [](const std::string& name, const ParamValue& v) { return name + ":" + to_string(v); }));
  EXPECT_EQ(objective.expand({{"lr", 1e-05}, {"width", int64_t{7}}, {"kind", std::string("a")}}),
            (std::vector<std::string>{"prog", "--set", "kind=kind:a", "lr=lr:1e-05"}));
}

}  // namespace
}  // namespace knob
