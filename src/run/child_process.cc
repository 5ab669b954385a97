#include "knob/run/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

#include "knob/core/error.h"

extern char** environ;

namespace knob {
namespace {

constexpr int kNoPidFdWakeMs = 50;  // poll() period while no pidfd reports the exit
constexpr const char* kMarkerName = "KNOB_TRIAL_PROCESS";

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Waits for its stdin (a pipe whose only writer is this process) to close — this process
// ended, however — then kills what carries this process's marker. In a session of its own,
// so the terminal's Ctrl-C and the kill of knob's process group do not end it first.
constexpr const char* kWatchdogScript =
    "while read -r _; do :; done\n"
    "for _ in 1 2 3 4 5; do\n"
    "  pids=$(grep -lzs \"^KNOB_TRIAL_PROCESS=$1\\\\.\" /proc/[0-9]*/environ | cut -d/ -f3)\n"
    "  [ -z \"$pids\" ] && exit 0\n"
    "  kill -9 $pids 2>/dev/null\n"
    "  sleep 0.1\n"
    "done\n";

// Starts the watchdog once per process; the write end of its pipe stays open (close-on-exec)
// until this process ends. Best effort: without /bin/sh, a kill -9 of knob leaves the programs.
void start_watchdog() {
  static std::once_flag once;
  std::call_once(once, [] {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv = {"/bin/sh", "-c", kWatchdogScript, "knob-watchdog",
                                     std::to_string(getpid())};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    char path_entry[] = "PATH=/usr/bin:/bin";
    char* envp[] = {path_entry, nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, args.data(), envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(fds[0]);
    if (rc != 0) close(fds[1]);  // else held open for the life of this process
  });
}

std::string next_marker() {
  static std::atomic<uint64_t> serial{0};
  return std::string(kMarkerName) + "=" + std::to_string(getpid()) + "." + std::to_string(++serial);
}

// Whether the NUL-separated environment block holds an entry starting with `prefix`.
bool has_entry(const std::string& block, const std::string& prefix) {
  for (size_t at = 0; at < block.size();) {
    if (block.compare(at, prefix.size(), prefix) == 0) return true;
    size_t end = block.find('\0', at);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env, const std::string& display) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    throw Error("cannot create a pipe: " + std::string(strerror(errno)));
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    throw Error("cannot create a pipe: " + std::string(strerror(e)));
  }
  start_watchdog();
  marker_ = next_marker();
  const std::string marker_name = std::string(kMarkerName) + "=";
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) {  // an inherited marker (knob started by knob) is replaced
    if (e.compare(0, marker_name.size(), marker_name) != 0) {
      envp.push_back(const_cast<char*>(e.c_str()));
    }
  }
  envp.push_back(marker_.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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
  // wrapper lacks C linkage in C++). -1 on kernels before 5.3: wait() then wakes every 50 ms.
  pid_fd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    kill_processes_marked(marker_ + '\0');
  }
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
  close_fd(pid_fd_);
}

void ChildProcess::close_pipe(Stream stream) {
  close_fd(stream == Stream::kStdout ? stdout_fd_ : stderr_fd_);
}

void ChildProcess::wait(int timeout_ms, const OutputHandler& on_output) {
  if (!reaped_ && pid_fd_ < 0) {
    timeout_ms = timeout_ms < 0 ? kNoPidFdWakeMs : std::min(timeout_ms, kNoPidFdWakeMs);
  }
  pollfd fds[3];
  int n = 0;
  int out_index = -1, err_index = -1;
  if (stdout_fd_ >= 0) {
    out_index = n;
    fds[n++] = {stdout_fd_, POLLIN, 0};
  }
  if (stderr_fd_ >= 0) {
    err_index = n;
    fds[n++] = {stderr_fd_, POLLIN, 0};
  }
  if (!reaped_ && pid_fd_ >= 0) fds[n++] = {pid_fd_, POLLIN, 0};
  int ready = poll(fds, static_cast<nfds_t>(n), timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return;
    throw Error(std::string("poll failed: ") + strerror(errno));
  }
  char buffer[65536];
  for (int which : {out_index, err_index}) {
    if (which < 0 || !(fds[which].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const Stream stream = which == out_index ? Stream::kStdout : Stream::kStderr;
    ssize_t got = read(fds[which].fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close_pipe(stream);
      on_output(stream, {});
      continue;
    }
    on_output(stream, std::string_view(buffer, static_cast<size_t>(got)));
  }
}

void ChildProcess::signal_group(int sig) {
  if (!reaped_) kill(-pid_, sig);
}

bool ChildProcess::try_reap() {
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
  kill_processes_marked(marker_ + '\0');  // what left the group (setsid) or the tree (double fork)
  return true;
}

int kill_processes_marked(const std::string& entry_prefix) {
  const pid_t self = getpid();
  int killed = 0;
  for (int pass = 0; pass < 5; ++pass) {
    int found = 0;
    std::error_code ec;
    for (const auto& dir : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = dir.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      if (pid == self) continue;
      std::ifstream in(dir.path() / "environ", std::ios::binary);
      if (!in) continue;
      const std::string block((std::istreambuf_iterator<char>(in)), {});
      if (!has_entry(block, entry_prefix)) continue;
      if (kill(pid, SIGKILL) == 0) ++found;
    }
    killed += found;
    if (found == 0) break;
  }
  return killed;
}

std::vector<std::string> environment_with(const std::map<std::string, std::string>& vars) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    if (!vars.count(entry.substr(0, entry.find('=')))) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

void die_with_parent(int sig) {
  if (prctl(PR_SET_PDEATHSIG, sig) != 0) {
    throw Error("cannot ask to die with the parent process: " + std::string(strerror(errno)));
  }
}

}  // namespace knob
