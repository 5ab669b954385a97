#include "knob/run/command_objective.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

#include "knob/core/error.h"
#include "knob/core/json.h"

extern char** environ;

namespace knob {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kStderrTail = 4096;      // bytes of stderr kept for the failure reason
constexpr size_t kMaxLine = 1 << 20;      // a longer stdout/stderr "line" is cut here
constexpr double kLeftoverSeconds = 1.0;  // to drain pipes after the program has exited
constexpr int kInterruptCheckMs = 200;    // how often a running program checks Study::interrupt()

std::string seconds_text(double seconds) { return detail::format_value(seconds); }

// A word the shell reads as itself: letters, digits and a few punctuation marks.
bool shell_safe(const std::string& text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("+-./:=@_,%", c);
  });
}

std::string shell_quote(const std::string& text) {
  if (shell_safe(text)) return text;
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

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

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_int(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

// The program of one trial: spawned in its own process group with stdout and stderr on pipes.
// The destructor kills the group and reaps the process if the trial did not finish it.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& display) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw Error("cannot create a pipe: " + errno_text());
    if (pipe2(err, O_CLOEXEC) != 0) {
      int e = errno;
      close(out[0]);
      close(out[1]);
      throw Error("cannot create a pipe: " + std::string(strerror(e)));
    }
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);  // a group of its own: one kill() reaches its children
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigemptyset(&defaults);  // signals this process may ignore, which exec would keep ignored
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM,
                    SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ}) {
      sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);
    int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      close(out[0]);
      close(err[0]);
      if (rc == ENOENT) {
        throw Error("cannot run " + display + ": program '" + argv[0] + "' not found" +
                    (argv[0].find('/') == std::string::npos ? " on PATH" : ""));
      }
      throw Error("cannot run " + display + ": " + argv[0] + ": " + strerror(rc));
    }
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
    // A descriptor that polls readable when the program exits (glibc 2.36's pidfd_open()
    // wrapper lacks C linkage in C++). -1 on kernels before 5.3: poll() then wakes every 50 ms.
    pid_fd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    if (!reaped_) {
      kill(-pid_, SIGKILL);
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
    close_fd(pid_fd_);
  }

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }
  int status() const { return status_; }
  int& stdout_fd() { return stdout_fd_; }
  int& stderr_fd() { return stderr_fd_; }
  int pid_fd() const { return pid_fd_; }

  // Signals the whole group (only while the leader is unreaped: its id cannot be reused).
  void signal_group(int sig) {
    if (!reaped_) kill(-pid_, sig);
  }

  // Reaps the program if it has exited; true once it has. What it left running in its group
  // is killed first, while the exited leader still holds the group's id.
  bool try_reap() {
    if (reaped_) return true;
    siginfo_t info{};
    int r;
    do {
      r = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r == 0 && info.si_pid == 0) return false;  // still running
    if (r == 0) kill(-pid_, SIGKILL);
    int status = 0;
    pid_t done;
    do {
      done = waitpid(pid_, &status, 0);
    } while (done < 0 && errno == EINTR);
    if (done < 0) {
      status_lost_ = true;  // ECHILD: someone else reaped it (SIGCHLD ignored?)
    } else {
      status_ = status;
    }
    reaped_ = true;
    close_fd(pid_fd_);
    return true;
  }

  bool status_lost() const { return status_lost_; }

  static void close_fd(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }

 private:
  static std::string errno_text() { return strerror(errno); }

  pid_t pid_ = -1;
  int stdout_fd_ = -1, stderr_fd_ = -1, pid_fd_ = -1;
  bool reaped_ = false;
  bool status_lost_ = false;
  int status_ = 0;
};

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
    const Clock::time_point start = Clock::now();
    std::optional<Clock::time_point> deadline;
    if (options_.timeout()) {
      deadline = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(*options_.timeout()));
    }
    std::optional<Clock::time_point> kill_at;      // SIGKILL after the grace period
    std::optional<Clock::time_point> leftover_at;  // stop draining pipes after the exit
    LineBuffer out_lines, err_lines;
    auto on_stdout = [&](const std::string& line) { stdout_line(line); };
    auto on_stderr = [&](const std::string& line) { stderr_line(line); };
    auto terminate = [&](Ending ending, std::string reason) {
      if (ending_ != Ending::kNone) return;
      ending_ = ending;
      ending_reason_ = std::move(reason);
      child.signal_group(SIGTERM);
      kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options_.kill_grace()));
    };
    char buffer[65536];
    while (child.stdout_fd() >= 0 || child.stderr_fd() >= 0 || !child.reaped()) {
      Clock::time_point now = Clock::now();
      if (deadline && now >= *deadline && ending_ == Ending::kNone) {
        terminate(Ending::kTimeout, "timed out after " + seconds_text(*options_.timeout()) + " s");
      }
      if (trial_.study().interrupted() && ending_ == Ending::kNone) {
        terminate(Ending::kInterrupted, display_ + " stopped: the study was interrupted");
      }
      if (kill_at && now >= *kill_at) {
        child.signal_group(SIGKILL);
        kill_at.reset();
      }
      if (child.try_reap() && !leftover_at) {
        leftover_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(kLeftoverSeconds));
      }
      if (child.reaped() && child.stdout_fd() < 0 && child.stderr_fd() < 0) break;
      if (leftover_at && Clock::now() >= *leftover_at) break;  // a detached process holds a pipe

      // Wait for output, the exit, or the next deadline.
      std::optional<Clock::time_point> wake;
      for (const auto& t : {deadline, kill_at, leftover_at}) {
        if (t && (!wake || *t < *wake)) wake = t;
      }
      int timeout_ms = -1;
      if (wake) {
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
      }
      if (!child.reaped() && child.pid_fd() < 0) {
        timeout_ms = timeout_ms < 0 ? 50 : std::min(timeout_ms, 50);
      }
      // Look at Study::interrupt() a few times a second.
      timeout_ms = timeout_ms < 0 ? kInterruptCheckMs : std::min(timeout_ms, kInterruptCheckMs);
      pollfd fds[3];
      int n = 0;
      int out_index = -1, err_index = -1;
      if (child.stdout_fd() >= 0) {
        out_index = n;
        fds[n++] = {child.stdout_fd(), POLLIN, 0};
      }
      if (child.stderr_fd() >= 0) {
        err_index = n;
        fds[n++] = {child.stderr_fd(), POLLIN, 0};
      }
      if (!child.reaped() && child.pid_fd() >= 0) fds[n++] = {child.pid_fd(), POLLIN, 0};
      int ready = poll(fds, static_cast<nfds_t>(n), timeout_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw Error(std::string("poll failed: ") + strerror(errno));
      }
      for (int which : {out_index, err_index}) {
        if (which < 0 || !(fds[which].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        int& fd = which == out_index ? child.stdout_fd() : child.stderr_fd();
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          ChildProcess::close_fd(fd);
          if (which == out_index)
            out_lines.finish(on_stdout);
          else
            err_lines.finish(on_stderr);
          continue;
        }
        if (which == out_index) {
          out_lines.feed(buffer, static_cast<size_t>(got), on_stdout);
        } else {
          stderr_all_.append(buffer, static_cast<size_t>(got));
          if (stderr_all_.size() > 2 * kStderrTail)
            stderr_all_.erase(0, stderr_all_.size() - kStderrTail);
          err_lines.feed(buffer, static_cast<size_t>(got), on_stderr);
        }
      }
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

  ObjectiveValues outcome(ChildProcess& child) {
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
      double x;
      std::string last = last_plain_line_;
      while (!last.empty() && std::isspace(static_cast<unsigned char>(last.back())))
        last.pop_back();
      while (!last.empty() && std::isspace(static_cast<unsigned char>(last.front())))
        last.erase(0, 1);
      if (parse_double(last, x)) {
        message += "; its last line \"" + last +
                   "\" is a bare number, which knob does not "
                   "take for the value";
      }
      throw Error(message);
    }
    return *values_;
  }

  void fail_protocol(const std::string& line, const std::string& why) {
    if (pending_ != Ending::kNone || ending_ != Ending::kNone) return;
    pending_ = Ending::kProtocol;
    pending_reason_ = display_ + " printed a malformed protocol line \"" +
                      (line.size() > 200 ? line.substr(0, 200) + "..." : line) + "\": " + why;
  }

  void stdout_line(const std::string& line) {
    if (line.rfind("knob:", 0) != 0 || line.size() == 5 || line[5] == ' ' || line[5] == '\t') {
      last_plain_line_ = line;
      output(false, line);
      return;
    }
    // After the decision to stop, the program's last words are not acted on.
    if (ending_ != Ending::kNone || pending_ != Ending::kNone) return;
    std::string_view rest(line);
    rest.remove_prefix(5);
    size_t space = rest.find_first_of(" \t");
    std::string_view verb = rest.substr(0, space);
    std::string_view args = space == std::string_view::npos ? "" : rest.substr(space + 1);
    if (verb == "report") {
      auto words = split_words(args);
      int64_t step;
      double value;
      if (words.size() != 2 || !parse_int(words[0], step) || step < 0 ||
          !parse_double(words[1], value)) {
        return fail_protocol(line, "expected `knob:report STEP VALUE` (STEP an integer >= 0)");
      }
      trial_.report(value, step);
      if (trial_.should_prune()) {
        pending_ = Ending::kPruned;
        pending_reason_ =
            "pruned at step " + std::to_string(step) + " (value " + std::string(words[1]) + ")";
      }
    } else if (verb == "attr") {
      while (!args.empty() && (args.front() == ' ' || args.front() == '\t')) args.remove_prefix(1);
      size_t gap = args.find_first_of(" \t");
      if (gap == std::string_view::npos || gap == 0) {
        return fail_protocol(line, "expected `knob:attr KEY JSON`");
      }
      std::string key(args.substr(0, gap));
      Json value;
      try {
        value = loads(std::string(args.substr(gap + 1)), "knob:attr " + key);
      } catch (const InvalidArgument&) {
        return fail_protocol(line, "the value of `knob:attr KEY JSON` is not JSON");
      }
      trial_.set_user_attr(key, value);
    } else if (verb == "value") {
      if (values_) return fail_protocol(line, "a second `knob:value` line (print it once)");
      size_t expected = trial_.study().directions().size();
      auto words = split_words(args);
      ObjectiveValues values;
      for (auto w : words) {
        double x;
        if (!parse_double(w, x)) {
          return fail_protocol(line, "expected `knob:value V` with numbers only");
        }
        values.push_back(x);
      }
      if (values.size() != expected) {
        return fail_protocol(
            line, "expected " + std::to_string(expected) + " value(s), one per study direction");
      }
      values_ = std::move(values);
    } else {
      fail_protocol(line, "unknown; the protocol has knob:report, knob:attr and knob:value");
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
  std::string last_plain_line_;
  std::string stderr_all_;
  Ending pending_ = Ending::kNone;  // decided while reading lines, acted on after the read
  std::string pending_reason_;
  Ending ending_ = Ending::kNone;
  std::string ending_reason_;
};

}  // namespace

std::string escape_placeholders(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '{' || c == '}') out += c;
  }
  return out;
}

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
    : space_(std::move(space)), options_(std::move(options)), shell_(shell) {
  KNOB_CHECK(!argv.empty() && !argv[0].empty(), "command", std::string(""), "must name a program");
  order_search_space(space_);
  std::set<std::string> names;
  std::string listed;
  for (const auto& p : space_) {
    names.insert(p.name);
    listed += (listed.empty() ? "" : ", ") + p.name;
  }
  if (listed.empty()) listed = "none";
  for (const auto& arg : argv) {
    std::vector<Piece> pieces;
    std::string literal;
    for (size_t i = 0; i < arg.size(); ++i) {
      char c = arg[i];
      if ((c == '{' || c == '}') && i + 1 < arg.size() && arg[i + 1] == c) {
        literal += c;
        ++i;
      } else if (c == '{') {
        size_t close = arg.find('}', i + 1);
        KNOB_CHECK(close != std::string::npos, "command", arg,
                   "has a '{' without '}'; placeholders look like {name} and {{ is a literal {");
        std::string name = arg.substr(i + 1, close - i - 1);
        KNOB_CHECK(names.count(name), "command placeholder {" + name + "}", arg,
                   "must name a parameter of the search space (" + listed +
                       "); write {{ and }} for literal braces");
        const auto& param = *std::find_if(space_.begin(), space_.end(),
                                          [&](const SearchParam& p) { return p.name == name; });
        KNOB_CHECK(param.when.empty(), "command placeholder {" + name + "}", arg,
                   "names a conditional parameter (when ...), which some trials do not have; "
                   "read it from KNOB_PARAMS, which holds the parameters a trial uses");
        if (!literal.empty()) pieces.push_back({false, std::move(literal)});
        literal.clear();
        pieces.push_back({true, name});
        i = close;
      } else {
        literal += c;
      }
    }
    if (!literal.empty() || pieces.empty()) pieces.push_back({false, literal});
    argv_.push_back(std::move(pieces));
  }
  if (!options_.name().empty()) {
    display_ = "'" + options_.name() + "'";
  } else if (shell_) {
    const std::string& command = argv.back();
    display_ = "command `" + (command.size() > 60 ? command.substr(0, 57) + "..." : command) + "`";
  } else {
    display_ = "'" + argv[0] + "'";
  }
}

std::vector<std::string> CommandObjective::expand(
    const std::map<std::string, ParamValue>& params) const {
  std::vector<std::string> argv;
  for (size_t i = 0; i < argv_.size(); ++i) {
    std::string arg;
    for (const auto& piece : argv_[i]) {
      if (!piece.is_param) {
        arg += piece.text;
        continue;
      }
      auto it = params.find(piece.text);
      KNOB_CHECK(it != params.end(), "parameter", piece.text, "has no value for the command");
      std::string text = options_.format_value() ? options_.format_value()(piece.text, it->second)
                                                 : to_string(it->second);
      arg += shell_ && i == 2 ? shell_quote(text) : text;
    }
    argv.push_back(std::move(arg));
  }
  return argv;
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
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    if (!vars.count(entry.substr(0, entry.find('=')))) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);

  Run run(trial, options_, display_);
  return run.run(argv, env);
}

}  // namespace knob
