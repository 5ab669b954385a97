// Ctrl-C (SIGINT) and SIGTERM while a study runs. The first interrupts the study
// (Study::interrupt): no trial starts, running trials end at their next report and are
// stored FAIL "interrupted", and `knob tune --resume` runs them again. A second signal ends
// knob at once, as without the guard.
//
// Example:
//   InterruptGuard guard(study);
//   study.optimize(objective, options);
//   if (guard.interrupted()) throw ExitRequest{130, "interrupted"};
#pragma once

#include <atomic>
#include <thread>

#include "knob/tuner/study.h"

namespace knob::cli {

class InterruptGuard {
 public:
  // Installs the handlers and a thread that forwards the first signal to `study`.
  explicit InterruptGuard(Study study);
  // Puts the previous handlers back.
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // Whether a signal arrived.
  bool interrupted() const;

 private:
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

}  // namespace knob::cli
