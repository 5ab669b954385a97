// TrialDeadlines on a fixed clock: the timeout, the kill grace (due once), the drain after the
// exit, and the wait until the earliest of them.
#include "knob/run/trial_deadlines.h"

#include <gtest/gtest.h>

#include <limits>

namespace knob {
namespace {

using Clock = TrialDeadlines::Clock;
using std::chrono::milliseconds;

const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1);

TEST(TrialDeadlinesTest, NoneSetWaitsForever) {
  TrialDeadlines deadlines(kStart, std::nullopt, 5.0);
  EXPECT_FALSE(deadlines.timed_out(kStart + std::chrono::hours(100)));
  EXPECT_FALSE(deadlines.kill_due(kStart + std::chrono::hours(100)));
  EXPECT_FALSE(deadlines.drain_over(kStart + std::chrono::hours(100)));
  EXPECT_EQ(deadlines.wait_ms(kStart), -1);
}

TEST(TrialDeadlinesTest, TimeoutPassesAndStaysPassed) {
  TrialDeadlines deadlines(kStart, 2.5, 5.0);
  struct Case {
    milliseconds at;
    bool timed_out;
    int wait_ms;
  };
  for (const Case& c : {Case{milliseconds(0), false, 2500}, Case{milliseconds(2499), false, 1},
                        Case{milliseconds(2500), true, 0}, Case{milliseconds(9000), true, 0}}) {
    SCOPED_TRACE(c.at.count());
    EXPECT_EQ(deadlines.timed_out(kStart + c.at), c.timed_out);
    EXPECT_EQ(deadlines.wait_ms(kStart + c.at), c.wait_ms);
  }
}

TEST(TrialDeadlinesTest, WaitIsRoundedUpAndCappedAtAMinute) {
  TrialDeadlines deadlines(kStart, 3600.0, 5.0);
  EXPECT_EQ(deadlines.wait_ms(kStart), 60'000);
  EXPECT_EQ(deadlines.wait_ms(kStart + std::chrono::seconds(3600) - std::chrono::microseconds(1)),
            1);
}

TEST(TrialDeadlinesTest, KillIsDueOnceAfterTheGrace) {
  TrialDeadlines deadlines(kStart, std::nullopt, 0.5);
  EXPECT_FALSE(deadlines.kill_due(kStart + std::chrono::hours(1)));  // no SIGTERM yet
  const Clock::time_point term = kStart + std::chrono::seconds(10);
  deadlines.start_grace(term);
  EXPECT_EQ(deadlines.wait_ms(term), 500);
  EXPECT_FALSE(deadlines.kill_due(term + milliseconds(499)));
  EXPECT_TRUE(deadlines.kill_due(term + milliseconds(500)));
  EXPECT_FALSE(deadlines.kill_due(term + milliseconds(501)));
  EXPECT_EQ(deadlines.wait_ms(term), -1);
}

TEST(TrialDeadlinesTest, DrainStartsOnceAtTheFirstExit) {
  TrialDeadlines deadlines(kStart, std::nullopt, 5.0, 1.0);
  deadlines.start_drain(kStart);
  deadlines.start_drain(kStart + milliseconds(800));  // ignored
  EXPECT_FALSE(deadlines.drain_over(kStart + milliseconds(999)));
  EXPECT_TRUE(deadlines.drain_over(kStart + milliseconds(1000)));
  EXPECT_EQ(deadlines.wait_ms(kStart + milliseconds(250)), 750);
}

TEST(TrialDeadlinesTest, WaitIsUntilTheEarliestDeadline) {
  TrialDeadlines deadlines(kStart, 10.0, 2.0, 1.0);
  deadlines.start_grace(kStart + std::chrono::seconds(1));  // kill at 3 s
  EXPECT_EQ(deadlines.wait_ms(kStart), 3000);
  deadlines.start_drain(kStart + std::chrono::seconds(1));  // drain ends at 2 s
  EXPECT_EQ(deadlines.wait_ms(kStart), 2000);
}

// Issue 22, defect 6: 1e10 s is past int64 nanoseconds; it must be a deadline that never
// comes (saturated at a quarter of the clock's range, 73 years), not one wrapped into the past
// (which failed every trial at once).
TEST(TrialDeadlinesTest, HugeSecondsSaturateInsteadOfOverflowing) {
  for (double huge : {1e10, 1e300, std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(huge);
    TrialDeadlines deadlines(kStart, huge, huge);
    EXPECT_FALSE(deadlines.timed_out(kStart + std::chrono::hours(24 * 365 * 50)));
    EXPECT_EQ(deadlines.wait_ms(kStart), 60'000);
    deadlines.start_grace(kStart);
    EXPECT_FALSE(deadlines.kill_due(kStart + std::chrono::hours(24 * 365 * 50)));
    EXPECT_EQ(deadlines.wait_ms(kStart), 60'000);
  }
  TrialDeadlines negative(kStart, -1.0, std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(negative.timed_out(kStart));
  negative.start_grace(kStart);
  EXPECT_TRUE(negative.kill_due(kStart));
}

}  // namespace
}  // namespace knob
