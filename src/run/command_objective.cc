#include "knob/run/command_objective.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <utility>
#include <variant>

#include "knob/core/error.h"
#include "knob/core/json.h"
#include "knob/run/child_process.h"
#include "knob/run/trial_deadlines.h"
#include "knob/run/trial_protocol.h"

namespace knob {
namespace {

using Clock = TrialDeadlines::Clock;

constexpr size_t kStderrTail = 4096;      // bytes of stderr kept for the failure reason
constexpr size_t kMaxLine = 1 << 20;      // a longer stdout/stderr "line" is cut here
constexpr double kLeftoverSeconds = 1.0;  // to drain pipes after the program has exited
constexpr int kInterruptCheckMs = 200;    // how often a running program checks Study::interrupt()

std::string seconds_text(double seconds) { return detail::format_value(seconds); }

// Trims to the last `limit` bytes, starting at a line (or at least a UTF-8 character).
std::string tail_text(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.size() > kStderrTail) {
    size_t start = text.size() - kStderrTail;
    size_t newline = text.find('\n', start);
    if (newline != std::string::npos && newline + 1 < text.size()) {
      start = newline + 1;
    } else {
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        ++start;
    }
    text = "..." + text.substr(start);
  }
  return text;
}

// Splits a byte stream into lines (without the "\n" and a trailing "\r").
class LineBuffer {
 public:
  template <typename F>
  void feed(const char* data, size_t n, F&& on_line) {
    buffer_.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
      emit(buffer_.substr(start, nl - start), on_line);
    }
    buffer_.erase(0, start);
    if (buffer_.size() > kMaxLine) {
      emit(std::move(buffer_), on_line);
      buffer_.clear();
    }
  }
  template <typename F>
  void finish(F&& on_line) {
    if (!buffer_.empty()) emit(std::move(buffer_), on_line);
    buffer_.clear();
  }

 private:
  template <typename F>
  static void emit(std::string line, F& on_line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    on_line(line);
  }
  std::string buffer_;
};

void default_output(const Trial& trial, bool, const std::string& line) {
  std::string text = "[trial " + std::to_string(trial.number()) + "] " + line + "\n";
  // One write per line, so lines of trials running at once do not interleave.
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

// One trial's run: the protocol state and what ended it.
class Run {
 public:
  Run(Trial& trial, const CommandOptions& options, const std::string& display)
      : trial_(trial), options_(options), display_(display) {}

  ObjectiveValues run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    ChildProcess child(argv, env, display_);
    TrialDeadlines deadlines(Clock::now(), options_.timeout(), options_.kill_grace(),
                             kLeftoverSeconds);
    LineBuffer out_lines, err_lines;
    auto on_stdout = [&](const std::string& line) { stdout_line(line); };
    auto on_stderr = [&](const std::string& line) { stderr_line(line); };
    auto on_output = [&](ChildProcess::Stream stream, std::string_view bytes) {
      if (stream == ChildProcess::Stream::kStdout) {
        if (bytes.empty())
          out_lines.finish(on_stdout);
        else
          out_lines.feed(bytes.data(), bytes.size(), on_stdout);
        return;
      }
      if (bytes.empty()) return err_lines.finish(on_stderr);
      stderr_all_.append(bytes);
      if (stderr_all_.size() > 2 * kStderrTail)
        stderr_all_.erase(0, stderr_all_.size() - kStderrTail);
      err_lines.feed(bytes.data(), bytes.size(), on_stderr);
    };
    auto terminate = [&](Ending ending, std::string reason) {
      if (ending_ != Ending::kNone) return;
      ending_ = ending;
      ending_reason_ = std::move(reason);
      child.signal_group(SIGTERM);
      deadlines.start_grace(Clock::now());
    };
    while (child.output_open() || !child.reaped()) {
      Clock::time_point now = Clock::now();
      if (deadlines.timed_out(now) && ending_ == Ending::kNone) {
        terminate(Ending::kTimeout, "timed out after " + seconds_text(*options_.timeout()) + " s");
      }
      if (trial_.study().interrupted() && ending_ == Ending::kNone) {
        terminate(Ending::kInterrupted, display_ + " stopped: the study was interrupted");
      }
      if (deadlines.kill_due(now)) child.signal_group(SIGKILL);
      if (child.try_reap()) deadlines.start_drain(Clock::now());
      if (child.reaped() && !child.output_open()) break;
      if (deadlines.drain_over(Clock::now())) break;  // a detached process holds a pipe

      // Wait for output, the exit, or the next deadline; look at Study::interrupt() a few
      // times a second.
      int timeout_ms = deadlines.wait_ms(Clock::now());
      timeout_ms = timeout_ms < 0 ? kInterruptCheckMs : std::min(timeout_ms, kInterruptCheckMs);
      child.wait(timeout_ms, on_output);
      // A decision taken on a line: stop the program (pruned, or a protocol error).
      if (pending_ != Ending::kNone) {
        terminate(pending_, pending_reason_);
        pending_ = Ending::kNone;
      }
    }
    out_lines.finish(on_stdout);
    err_lines.finish(on_stderr);
    if (!child.reaped()) {  // left the loop with the program running: cannot happen, but be safe
      child.signal_group(SIGKILL);
    }
    return outcome(child);
  }

 private:
  enum class Ending { kNone, kPruned, kTimeout, kProtocol, kInterrupted };

  std::string stderr_tail() const { return tail_text(stderr_all_); }

  std::string with_stderr(std::string message) const {
    std::string tail = stderr_tail();
    if (!tail.empty()) message += "; stderr ends with:\n" + tail;
    return message;
  }

  ObjectiveValues outcome(const ChildProcess& child) {
    switch (ending_) {
      case Ending::kPruned:
        throw TrialPruned(ending_reason_);
      case Ending::kTimeout:
        throw Error(display_ + " " + ending_reason_);
      case Ending::kProtocol:
        throw Error(ending_reason_);
      case Ending::kInterrupted:
        throw TrialInterrupted(ending_reason_);
      case Ending::kNone:
        break;
    }
    if (child.status_lost()) {
      throw Error(display_ + ": its exit status was lost (is SIGCHLD ignored in this process?)");
    }
    int status = child.status();
    if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      std::string name = signal_name(sig);
      if (sig == SIGKILL) name += ", possibly out of memory";
      throw Error(with_stderr(display_ + " was killed by signal " + std::to_string(sig) + " (" +
                              name + ")"));
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0) {
      std::string hint;
      if (code == 127) hint = " (127: command not found)";
      if (code == 126) hint = " (126: not executable)";
      throw Error(with_stderr(display_ + " exited with code " + std::to_string(code) + hint));
    }
    if (!values_) {
      std::string message = display_ +
                            " exited 0 without a final value: print a line `knob:value V` "
                            "(one number per direction) to stdout";
      std::string last = last_plain_line_;
      while (!last.empty() && std::isspace(static_cast<unsigned char>(last.back())))
        last.pop_back();
      while (!last.empty() && std::isspace(static_cast<unsigned char>(last.front())))
        last.erase(0, 1);
      if (parse_protocol_number(last)) {
        message += "; its last line \"" + last +
                   "\" is a bare number, which knob does not "
                   "take for the value";
      }
      throw Error(message);
    }
    return *values_;
  }

  void fail_protocol(const ProtocolError& error) {
    if (pending_ != Ending::kNone || ending_ != Ending::kNone) return;
    pending_ = Ending::kProtocol;
    pending_reason_ = display_ + " printed a " + error.what();
  }

  void stdout_line(const std::string& line) {
    std::string_view verb = protocol_verb(line);
    if (verb.empty()) {
      last_plain_line_ = line;
      output(false, line);
      return;
    }
    // After the decision to stop, the program's last words are not acted on.
    if (ending_ != Ending::kNone || pending_ != Ending::kNone) return;
    if (verb == "value" && values_) {
      return fail_protocol(ProtocolError(line, "a second `knob:value` line (print it once)"));
    }
    ProtocolMessage message;
    try {
      message = parse_protocol_line(line, trial_.study().directions().size());
    } catch (const ProtocolError& e) {
      return fail_protocol(e);
    }
    if (auto* report = std::get_if<ProtocolReport>(&message)) {
      trial_.report(report->value, report->step);
      if (trial_.should_prune()) {
        pending_ = Ending::kPruned;
        pending_reason_ = "pruned at step " + std::to_string(report->step) + " (value " +
                          report->value_text + ")";
      }
    } else if (auto* attr = std::get_if<ProtocolAttr>(&message)) {
      trial_.set_user_attr(attr->key, attr->value);
    } else if (auto* constraints = std::get_if<ProtocolConstraints>(&message)) {
      if (constraints_given_) {
        return fail_protocol(
            ProtocolError(line, "a second `knob:constraints` line (print it once)"));
      }
      constraints_given_ = true;
      // Where Optuna keeps them (constraints.h): samplers and reports read them there.
      trial_.study().storage().set_trial_system_attr(trial_.trial_id(), "constraints",
                                                     Json(constraints->values));
    } else if (auto* prune = std::get_if<ProtocolPrune>(&message)) {
      pending_ = Ending::kPruned;
      pending_reason_ = display_ + " pruned the trial";
      if (!prune->reason.empty()) {
        pending_reason_ += ": " + prune->reason;
        trial_.study().storage().set_trial_system_attr(trial_.trial_id(), kPruneReasonAttr,
                                                       Json(prune->reason));
      }
    } else {
      values_ = std::move(std::get<ProtocolValue>(message).values);
    }
  }

  void stderr_line(const std::string& line) { output(true, line); }

  void output(bool is_stderr, const std::string& line) {
    if (options_.on_output())
      options_.on_output()(trial_, is_stderr, line);
    else
      default_output(trial_, is_stderr, line);
  }

  Trial& trial_;
  const CommandOptions& options_;
  const std::string& display_;
  std::optional<ObjectiveValues> values_;
  bool constraints_given_ = false;
  std::string last_plain_line_;
  std::string stderr_all_;
  Ending pending_ = Ending::kNone;  // decided while reading lines, acted on after the read
  std::string pending_reason_;
  Ending ending_ = Ending::kNone;
  std::string ending_reason_;
};

}  // namespace

namespace {

// The argv check comes first, then the space's own checks.
std::vector<SearchParam> checked_space(const std::vector<std::string>& argv,
                                       std::vector<SearchParam> space) {
  KNOB_CHECK(!argv.empty() && !argv[0].empty(), "command", std::string(""), "must name a program");
  order_search_space(space);
  return space;
}

}  // namespace

CommandObjective::CommandObjective(std::vector<std::string> argv, std::vector<SearchParam> space,
                                   CommandOptions options)
    : CommandObjective(std::move(argv), std::move(space), std::move(options), false) {}

CommandObjective CommandObjective::shell(const std::string& command, std::vector<SearchParam> space,
                                         CommandOptions options) {
  KNOB_CHECK(!command.empty(), "command", command, "must not be empty");
  return CommandObjective({"/bin/sh", "-c", command}, std::move(space), std::move(options), true);
}

CommandObjective::CommandObjective(std::vector<std::string> argv, std::vector<SearchParam> space,
                                   CommandOptions options, bool shell)
    : space_(checked_space(argv, std::move(space))),
      options_(std::move(options)),
      command_(argv, space_, shell ? std::optional<size_t>(2) : std::nullopt) {
  if (!options_.name().empty()) {
    display_ = "'" + options_.name() + "'";
  } else if (shell) {
    const std::string& command = argv.back();
    display_ = "command `" + (command.size() > 60 ? command.substr(0, 57) + "..." : command) + "`";
  } else {
    display_ = "'" + argv[0] + "'";
  }
}

std::vector<std::string> CommandObjective::expand(
    const std::map<std::string, ParamValue>& params) const {
  return command_.expand(params, options_.format_value());
}

ObjectiveValues CommandObjective::operator()(Trial& trial) const {
  std::map<std::string, ParamValue> params = suggest_params(trial, space_);
  Json params_json = Json::object();
  for (const auto& [name, value] : params) params_json[name] = to_json(value);
  std::vector<std::string> argv = expand(params);

  std::map<std::string, std::string> vars = options_.env();
  vars["KNOB_TRIAL_NUMBER"] = std::to_string(trial.number());
  vars["KNOB_TRIAL_ID"] = std::to_string(trial.trial_id());
  vars["KNOB_STUDY_NAME"] = trial.study().study_name();
  vars["KNOB_STORAGE"] = options_.storage_url();
  vars["KNOB_PARAMS"] = dumps(params_json);
  Run run(trial, options_, display_);
  return run.run(argv, environment_with(vars));
}

}  // namespace knob
