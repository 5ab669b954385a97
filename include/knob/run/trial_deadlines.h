// TrialDeadlines: the clock of one trial's program — when it times out, when SIGKILL follows
// the SIGTERM of a prune or timeout (the kill grace), and how long its pipes are still read
// after it exits (a detached grandchild may hold them open). Times are passed in, so it is a
// plain value: deterministic to test, no sleeping.
//
// Example:
//   knob::TrialDeadlines deadlines(knob::TrialDeadlines::Clock::now(), /*timeout=*/600.0,
//                                  /*kill_grace=*/5.0);
//   if (deadlines.timed_out(now)) { child.signal_group(SIGTERM); deadlines.start_grace(now); }
//   if (deadlines.kill_due(now)) child.signal_group(SIGKILL);
//   child.wait(deadlines.wait_ms(now), on_output);
#pragma once

#include <chrono>
#include <optional>

namespace knob {

class TrialDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  // `timeout` and the others in seconds from `start`; no timeout: the program may run forever.
  // Seconds are saturated: a value past the clock's range (1e10 s in int64 nanoseconds) is a
  // deadline that never comes, not an overflow into the past; negative or NaN ones are 0.
  TrialDeadlines(Clock::time_point start, std::optional<double> timeout, double kill_grace,
                 double drain = 1.0);

  // Whether the timeout has passed (it stays passed).
  bool timed_out(Clock::time_point now) const { return timeout_at_ && now >= *timeout_at_; }

  // SIGTERM was sent at `now`: SIGKILL is due after the kill grace.
  void start_grace(Clock::time_point now);
  // True once, when the kill grace has run out.
  bool kill_due(Clock::time_point now);

  // The program exited at `now`: its pipes are read for `drain` seconds more. Only the first
  // call counts.
  void start_drain(Clock::time_point now);
  bool drain_over(Clock::time_point now) const { return drain_at_ && now >= *drain_at_; }

  // Milliseconds from `now` to the earliest pending deadline, rounded up and clamped to
  // [0, 60000]; -1 when none is set. A passed timeout stays pending, so this is 0 after it.
  int wait_ms(Clock::time_point now) const;

 private:
  std::optional<Clock::time_point> timeout_at_;
  Clock::duration kill_grace_;
  Clock::duration drain_;
  std::optional<Clock::time_point> kill_at_;   // SIGKILL after the grace period
  std::optional<Clock::time_point> drain_at_;  // stop reading pipes after the exit
};

}  // namespace knob
