// ChildProcess with real programs: output on two pipes until their end, exit codes and
// signals in the wait status, the process group signalled and killed, a program that cannot
// start named, and the environment a child gets.
#include "knob/run/child_process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "knob/core/error.h"
#include "process_test_support.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::gone_soon;

struct Finished {
  std::string out, err;
  int status = 0;
};

// Runs the child until it exits and both pipes are at their end.
Finished finish(ChildProcess& child) {
  Finished result;
  while (child.output_open() || !child.try_reap()) {
    child.wait(200, [&](ChildProcess::Stream stream, std::string_view bytes) {
      (stream == ChildProcess::Stream::kStdout ? result.out : result.err) += bytes;
    });
  }
  result.status = child.status();
  return result;
}

ChildProcess shell(const std::string& script, std::vector<std::string> env = {}) {
  return ChildProcess({"/bin/sh", "-c", script}, env, "'sh'");
}

TEST(ChildProcessTest, ReadsBothPipesAndTheExitCode) {
  ChildProcess child = shell("echo out; echo err >&2; printf tail; exit 3");
  Finished f = finish(child);
  EXPECT_EQ(f.out, "out\ntail");
  EXPECT_EQ(f.err, "err\n");
  ASSERT_TRUE(WIFEXITED(f.status));
  EXPECT_EQ(WEXITSTATUS(f.status), 3);
  EXPECT_FALSE(child.status_lost());
  EXPECT_FALSE(child.output_open());
}

TEST(ChildProcessTest, StdinIsEmpty) {
  ChildProcess child = shell("cat; echo done");
  EXPECT_EQ(finish(child).out, "done\n");
}

TEST(ChildProcessTest, SignalGroupReachesTheProgramAndItsChildren) {
  ChildProcess child = shell("sleep 30 & echo $!; wait");
  std::string out;
  while (out.find('\n') == std::string::npos) {
    child.wait(200, [&](ChildProcess::Stream, std::string_view bytes) { out += bytes; });
  }
  const pid_t grandchild = std::stoi(out);
  child.signal_group(SIGTERM);
  Finished f = finish(child);
  ASSERT_TRUE(WIFSIGNALED(f.status));
  EXPECT_EQ(WTERMSIG(f.status), SIGTERM);
  EXPECT_TRUE(gone_soon(grandchild));
  child.signal_group(SIGKILL);  // reaped: no signal to a reused id
}

TEST(ChildProcessTest, DestructorKillsAndReapsARunningProgram) {
  pid_t pid;
  {
    ChildProcess child = shell("exec sleep 30");
    pid = child.pid();
    EXPECT_FALSE(child.try_reap());
  }
  EXPECT_TRUE(gone_soon(pid));
}

TEST(ChildProcessTest, AProgramThatCannotStartIsNamed) {
  try {
    ChildProcess child({"knob-no-such-program"}, {}, "'knob-no-such-program'");
    ADD_FAILURE() << "started";
  } catch (const Error& e) {
    testing::expect_contains(e.what(), {"cannot run 'knob-no-such-program'",
                                        "program 'knob-no-such-program' not found on PATH"});
  }
  try {
    ChildProcess child({"/nonexistent/prog"}, {}, "'prog'");
    ADD_FAILURE() << "started";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot run 'prog': program '/nonexistent/prog' not found");
  }
}

TEST(ChildProcessTest, TheEnvironmentIsTheOneGivenAndTheMarkerOfItsProcesses) {
  ChildProcess child({"/usr/bin/env"}, {"A=1", "B=two words", "KNOB_TRIAL_PROCESS=1.1"}, "'env'");
  const std::string out = finish(child).out;
  const std::string marker = "KNOB_TRIAL_PROCESS=" + std::to_string(getpid()) + ".";
  const std::string given = "A=1\nB=two words\n";
  EXPECT_EQ(out.substr(0, given.size() + marker.size()), given + marker) << out;
  EXPECT_EQ(out.find("KNOB_TRIAL_PROCESS=1.1"), std::string::npos);  // an inherited one goes
}

// Issue 22, defect 5: a child that calls setsid leaves the group that is killed; it carries
// the program's marker, so it ends with the program all the same.
TEST(ChildProcessTest, WhatLeavesTheGroupEndsWithTheProgram) {
  ChildProcess child = shell("setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!");
  const std::string out = finish(child).out;
  const int64_t escaped = std::stoll(out);
  EXPECT_TRUE(gone_soon(escaped)) << "pid " << escaped;
  if (testing::alive(escaped)) kill(static_cast<pid_t>(escaped), SIGKILL);
}

TEST(ChildProcessTest, EnvironmentWithOverridesThisProcesssVariables) {
  setenv("KNOB_CHILD_PROCESS_TEST", "old", 1);
  auto env = environment_with({{"KNOB_CHILD_PROCESS_TEST", "new"}, {"KNOB_ADDED", "x"}});
  unsetenv("KNOB_CHILD_PROCESS_TEST");
  EXPECT_EQ(std::count(env.begin(), env.end(), "KNOB_CHILD_PROCESS_TEST=new"), 1);
  EXPECT_EQ(std::count(env.begin(), env.end(), "KNOB_CHILD_PROCESS_TEST=old"), 0);
  EXPECT_EQ(std::count(env.begin(), env.end(), "KNOB_ADDED=x"), 1);
  EXPECT_GT(env.size(), 2u);  // the rest of this process's environment
}

TEST(ChildProcessTest, SignalNames) {
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(1000), "signal 1000");
}

TEST(ChildProcessTest, DieWithParentEndsAProcessWhoseParentDied) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    const pid_t parent = getpid();
    if (fork() == 0) {
      die_with_parent(SIGKILL);
      if (getppid() != parent) _exit(0);  // the parent is already gone
      const pid_t self = getpid();
      for (int i = 0; i < 2; ++i) {  // one for the middle process, one for the test
        if (write(fds[1], &self, sizeof self) != sizeof self) _exit(1);
      }
      for (;;) pause();
    }
    pid_t ready;
    if (read(fds[0], &ready, sizeof ready) != sizeof ready) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(read(fds[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  close(fds[0]);
  int status;
  waitpid(middle, &status, 0);
  EXPECT_TRUE(gone_soon(grandchild));
}

}  // namespace
}  // namespace knob
