// ChildProcess: one program started by posix_spawn (never a bare fork() of this perhaps
// multi-threaded process) in a process group of its own, stdin from /dev/null, stdout and
// stderr on close-on-exec pipes, signals reset to their defaults. Owns the process and all it
// starts: each program gets the environment entry KNOB_TRIAL_PROCESS=<knob pid>.<serial>, which
// its descendants inherit, also those that leave its group (setsid) or its tree (double fork).
// Once the program is reaped, and in the destructor, every process carrying its entry is
// killed; if this process dies first (kill -9), a watchdog (/bin/sh, started with the first
// program, in a session of its own) sees its pipe close and kills every process carrying
// KNOB_TRIAL_PROCESS=<knob pid>.*. Only a program that execs with that entry removed from its
// environment escapes. One thread uses an object at a time; different objects may run on
// different threads.
//
// Example:
//   knob::ChildProcess child({"python3", "train.py"}, knob::environment_with({{"SEED", "1"}}),
//                            "'python3'");
//   while (child.output_open() || !child.try_reap()) {
//     child.wait(200, [](knob::ChildProcess::Stream s, std::string_view bytes) { ... });
//   }
//   // child.status() is the wait status (WIFEXITED, WEXITSTATUS, ...)
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace knob {

class ChildProcess {
 public:
  enum class Stream { kStdout, kStderr };
  // Bytes read from one of the program's pipes; empty once that pipe is at its end.
  using OutputHandler = std::function<void(Stream stream, std::string_view bytes)>;

  // Starts argv (argv[0] looked up on PATH when it has no '/') with `env` ("NAME=value"
  // entries) as its whole environment. Throws knob::Error naming `display` (how messages name
  // the program) when it cannot be started, e.g. "cannot run 'x': program 'x' not found on PATH".
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& display);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Whether stdout or stderr has not reached its end yet.
  bool output_open() const { return stdout_fd_ >= 0 || stderr_fd_ >= 0; }

  // Waits up to timeout_ms (-1: no limit) for output or the program's exit, and passes what one
  // read of each ready pipe returns to on_output. Without pidfd_open (kernels before 5.3) it
  // wakes at least every 50 ms while the program runs. Throws knob::Error if poll() fails.
  void wait(int timeout_ms, const OutputHandler& on_output);

  // Signals the whole group (only while the program is unreaped: its id cannot be reused).
  void signal_group(int sig);

  // Reaps the program if it has exited; true once it has. What it left running in its group
  // is killed first, while the exited leader still holds the group's id, and then every
  // process that still carries its KNOB_TRIAL_PROCESS entry.
  bool try_reap();
  bool reaped() const { return reaped_; }
  // The wait status once reaped (see waitpid).
  int status() const { return status_; }
  // Whether someone else reaped the program (SIGCHLD ignored?), so status() means nothing.
  bool status_lost() const { return status_lost_; }

 private:
  void close_pipe(Stream stream);

  std::string marker_;  // "KNOB_TRIAL_PROCESS=<pid>.<serial>"
  pid_t pid_ = -1;
  int stdout_fd_ = -1, stderr_fd_ = -1, pid_fd_ = -1;
  bool reaped_ = false;
  bool status_lost_ = false;
  int status_ = 0;
};

// This process's environment ("NAME=value" entries) with `vars` set, overriding.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& vars);

// Sends SIGKILL to every process (but this one) whose environment, as it was exec'd, holds an
// entry starting with `entry_prefix` (e.g. "KNOB_TRIAL_PROCESS=123.4"), until none is left
// (a process forked meanwhile inherits the entry); returns how many were killed. Processes
// whose environment cannot be read (another user's) are skipped.
int kill_processes_marked(const std::string& entry_prefix);

// "SIGKILL" for SIGKILL; "signal N" for a number without a name.
std::string signal_name(int sig);

// The child side: asks the kernel to send `sig` to this process when the thread that started
// it exits (PR_SET_PDEATHSIG), so a trial whose parent died does not run on unread. Throws
// knob::Error if the kernel refuses.
void die_with_parent(int sig = SIGKILL);

}  // namespace knob
