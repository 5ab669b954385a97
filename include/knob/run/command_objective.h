// CommandObjective: any program as an objective. Each trial suggests every parameter of a
// search space, fills the `{name}` placeholders of a command with the values, runs the command
// in a child process of its own process group, and reads a line protocol on its stdout:
//
//   knob:report STEP VALUE   an intermediate value (STEP an integer >= 0). If the pruner then
//                            stops the trial, the process group gets SIGTERM, SIGKILL after
//                            kill_grace seconds, and the trial ends PRUNED.
//   knob:attr KEY JSON       a user attribute of the trial (KEY without spaces, any JSON value).
//   knob:constraints [C ...] constraint values (<= 0 feasible), stored as the trial's system
//                            attribute "constraints" as Optuna stores them; at most once.
//   knob:value V [V2 ...]    the final value, one number per study direction; at most once.
//
// Any other stdout line and every stderr line goes to on_output (default: this process's
// stderr as "[trial N] line"); the last 4 KB of stderr are kept for the failure reason. The
// trial FAILs (a knob::Error, so the study goes on) when the program exits non-zero (with its
// exit code and the tail of stderr), dies by a signal (named; SIGKILL: possibly out of
// memory), cannot be started, runs longer than `timeout`, prints a malformed `knob:` line, or
// exits 0 without a `knob:value` line — knob never takes a bare number for the value.
//
// The program sees its trial in the environment: KNOB_TRIAL_NUMBER, KNOB_TRIAL_ID,
// KNOB_STUDY_NAME, KNOB_STORAGE (the storage_url option; "" for an in-memory study) and
// KNOB_PARAMS (the parameters as a JSON object, floats written exactly), plus options.env.
//
// Placeholders: `{name}` is replaced by the text of parameter `name` (format_value; default
// Python's str(): 0.001, 1e-05, 32, True, adam); `{{` and `}}` are literal braces. A
// placeholder naming no parameter of the space is an InvalidArgument when the objective is
// made, before any trial runs. A conditional parameter (SearchParam::when) has no placeholder —
// some trials lack it — and reaches the program through KNOB_PARAMS only. In a shell command
// (CommandObjective::shell, run by /bin/sh -c) values other than plain words and numbers are
// single-quoted.
//
// Processes are started by posix_spawn — never a bare fork() of this (perhaps multi-threaded)
// process — with stdin from /dev/null; knob's own descriptors are close-on-exec, so one
// trial's pipes never leak into another's program. When the program exits, whatever it left
// running in its process group is killed. If the objective is abandoned (an exception from the
// storage, say), the group is killed and the child reaped. A child whose parent dies
// unexpectedly is not killed by knob (it may call die_with_parent(), child_process.h, as
// `knob train --protocol` does); it gets SIGPIPE on its next write to stdout. Thread-safe: one
// object may run trials on many threads at once (on_output is then called from each).
//
// Its parts, each usable alone: command_template.h (placeholders), child_process.h (the
// process), trial_deadlines.h (timeout and kill grace), trial_protocol.h (the lines, both sides).
//
// Example:
//   auto study = knob::create_study(knob::StudyOptions().storage(url).study_name("mlp"));
//   std::vector<knob::SearchParam> space = {
//       {"lr", knob::FloatDistribution(1e-4, 1e-1, /*log=*/true)},
//       {"width", knob::IntDistribution(16, 256)}};
//   knob::CommandObjective objective({"python3", "train.py", "--lr={lr}", "--width={width}"},
//                                    space, knob::CommandOptions().storage_url(url).timeout(600));
//   study.optimize(objective, 50);
//   // train.py prints "knob:report 3 0.81" after each epoch and "knob:value 0.86" at the end.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/param_value.h"
#include "knob/run/command_template.h"
#include "knob/tuner/search_space.h"
#include "knob/tuner/study.h"
#include "knob/tuner/trial.h"

namespace knob {

// A line of the program's output that is not protocol: stdout (is_stderr false) or stderr.
using CommandOutputHandler =
    std::function<void(const Trial& trial, bool is_stderr, const std::string& line)>;
using EnvironmentMap = std::map<std::string, std::string>;

struct CommandOptions {
  // Seconds a trial may run (none: no limit); then SIGTERM, SIGKILL after kill_grace, FAIL.
  KNOB_ARG(std::optional<double>, timeout);
  // Seconds between SIGTERM and SIGKILL when a trial is pruned or times out.
  KNOB_ARG(double, kill_grace) = 5.0;
  // $KNOB_STORAGE for the program (the study's storage URL, so it can open the study).
  KNOB_ARG(std::string, storage_url) = "";
  // Extra environment variables (they override this process's; KNOB_* trial variables win).
  KNOB_ARG(EnvironmentMap, env);
  // Text of a parameter value in the command. Default: to_string(value), Python's str().
  KNOB_ARG(CommandValueFormatter, format_value);
  // Receives the program's non-protocol output. Default: "[trial N] line" on stderr.
  KNOB_ARG(CommandOutputHandler, on_output);
  // How failure reasons name the command. Default: argv[0], or the shell command.
  KNOB_ARG(std::string, name) = "";
};

class CommandObjective {
 public:
  // Runs argv directly (argv[0] is looked up on PATH when it has no '/'). Throws
  // InvalidArgument for an empty argv, an unclosed '{' or a placeholder naming no parameter.
  CommandObjective(std::vector<std::string> argv, std::vector<SearchParam> space,
                   CommandOptions options = {});
  // Runs `command` with /bin/sh -c; the same checks.
  static CommandObjective shell(const std::string& command, std::vector<SearchParam> space,
                                CommandOptions options = {});

  // Runs one trial (see the top of this file); returns one value per study direction.
  ObjectiveValues operator()(Trial& trial) const;

  // The argv a trial with these parameter values runs (placeholders filled).
  std::vector<std::string> expand(const std::map<std::string, ParamValue>& params) const;

 private:
  CommandObjective(std::vector<std::string> argv, std::vector<SearchParam> space,
                   CommandOptions options, bool shell);

  std::vector<SearchParam> space_;
  CommandOptions options_;
  CommandTemplate command_;
  std::string display_;  // how messages name the command
};

}  // namespace knob
