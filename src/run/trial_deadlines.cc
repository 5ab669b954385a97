#include "knob/run/trial_deadlines.h"

#include <algorithm>
#include <cstdint>

namespace knob {
namespace {

using Duration = TrialDeadlines::Clock::duration;
using TimePoint = TrialDeadlines::Clock::time_point;

// A quarter of the clock's range: a deadline this far away never comes, and adding it to any
// time point of a running program cannot overflow.
constexpr Duration kNever = Duration::max() / 4;

// Seconds as the clock's duration, saturated to [0, kNever] (NaN: 0): 1e10 s in nanoseconds
// would overflow int64 and wrap to a deadline in the past.
Duration seconds(double s) {
  if (!(s > 0)) return Duration::zero();
  const std::chrono::duration<double> never = kNever;
  if (s >= never.count()) return kNever;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// start + d, saturated at the clock's end.
TimePoint add(TimePoint start, Duration d) {
  return start > TimePoint::max() - d ? TimePoint::max() : start + d;
}

}  // namespace

TrialDeadlines::TrialDeadlines(Clock::time_point start, std::optional<double> timeout,
                               double kill_grace, double drain)
    : kill_grace_(seconds(kill_grace)), drain_(seconds(drain)) {
  if (timeout) timeout_at_ = add(start, seconds(*timeout));
}

void TrialDeadlines::start_grace(Clock::time_point now) { kill_at_ = add(now, kill_grace_); }

bool TrialDeadlines::kill_due(Clock::time_point now) {
  if (!kill_at_ || now < *kill_at_) return false;
  kill_at_.reset();
  return true;
}

void TrialDeadlines::start_drain(Clock::time_point now) {
  if (!drain_at_) drain_at_ = add(now, drain_);
}

int TrialDeadlines::wait_ms(Clock::time_point now) const {
  std::optional<Clock::time_point> wake;
  for (const auto& t : {timeout_at_, kill_at_, drain_at_}) {
    if (t && (!wake || *t < *wake)) wake = t;
  }
  if (!wake) return -1;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
}

}  // namespace knob
