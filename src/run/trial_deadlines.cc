#include "knob/run/trial_deadlines.h"

#include <algorithm>
#include <cstdint>

namespace knob {
namespace {

TrialDeadlines::Clock::duration seconds(double s) {
  return std::chrono::duration_cast<TrialDeadlines::Clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

TrialDeadlines::TrialDeadlines(Clock::time_point start, std::optional<double> timeout,
                               double kill_grace, double drain)
    : kill_grace_(seconds(kill_grace)), drain_(seconds(drain)) {
  if (timeout) timeout_at_ = start + seconds(*timeout);
}

bool TrialDeadlines::kill_due(Clock::time_point now) {
  if (!kill_at_ || now < *kill_at_) return false;
  kill_at_.reset();
  return true;
}

void TrialDeadlines::start_drain(Clock::time_point now) {
  if (!drain_at_) drain_at_ = now + drain_;
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
