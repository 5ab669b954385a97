#include "interrupt_guard.h"

#include <signal.h>

#include <chrono>
#include <iostream>

namespace knob::cli {
namespace {

std::atomic<int> g_signals{0};
struct sigaction g_previous_int, g_previous_term;

// Async-signal-safe: an atomic counter; a second signal gets the default action (the end).
void on_signal(int sig) {
  if (g_signals.fetch_add(1) >= 1) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

}  // namespace

InterruptGuard::InterruptGuard(Study study) {
  g_signals = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  watcher_ = std::thread([this, study]() mutable {
    while (!done_) {
      if (g_signals > 0) {
        std::cerr << "\n[knob] interrupted: stopping the running trials at their next report "
                     "(again to quit at once)\n";
        study.interrupt();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

InterruptGuard::~InterruptGuard() {
  done_ = true;
  watcher_.join();
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool InterruptGuard::interrupted() const { return g_signals > 0; }

}  // namespace knob::cli
