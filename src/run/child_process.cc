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
#include <cerrno>

#include "knob/core/error.h"

extern char** environ;

namespace knob {
namespace {

constexpr int kNoPidFdWakeMs = 50;  // poll() period while no pidfd reports the exit

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
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
  return true;
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
