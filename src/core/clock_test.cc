// Datetimes in Optuna's text form ("YYYY-MM-DD HH:MM:SS.ffffff", naive local time).
#include "knob/core/clock.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace knob {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

// Sets TZ for one test and restores it afterwards.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (old_)
      setenv("TZ", old_->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

TimePoint epoch_plus(int64_t s, int64_t us = 0) {
  return TimePoint{} + seconds(s) + microseconds(us);
}

TEST(Clock, FormatsLocalTimeWithMicroseconds) {
  ScopedTimeZone tz("UTC0");
  EXPECT_EQ(format_datetime(epoch_plus(0)), "1970-01-01 00:00:00.000000");
  EXPECT_EQ(format_datetime(epoch_plus(1795358577, 542020)), "2026-11-22 14:42:57.542020");
  EXPECT_EQ(format_datetime(epoch_plus(951782400 - 1, 999999)), "2000-02-28 23:59:59.999999");
}

TEST(Clock, FormatsInTheLocalZoneNotUtc) {
  ScopedTimeZone tz("CET-1");  // UTC+1, no DST
  EXPECT_EQ(format_datetime(epoch_plus(0, 7)), "1970-01-01 01:00:00.000007");
  EXPECT_EQ(parse_datetime("1970-01-01 01:00:00.000007"), epoch_plus(0, 7));
}

TEST(Clock, ParsesToTheExactMicrosecond) {
  ScopedTimeZone tz("UTC0");
  EXPECT_EQ(parse_datetime("2026-11-22 14:42:57.542020"), epoch_plus(1795358577, 542020));
  EXPECT_EQ(parse_datetime("1970-01-01 00:00:01.000002"), epoch_plus(1, 2));
}

TEST(Clock, TextRoundTripsThroughParseAndFormat) {
  const std::vector<std::string> texts = {
      "2026-11-22 14:42:57.542020", "1970-01-01 00:00:00.000000", "2000-02-29 12:00:00.000001",
      "1999-12-31 23:59:59.999999", "2100-03-01 00:00:00.500000", "2038-01-19 03:14:08.000000",
  };
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    auto parsed = parse_datetime(text);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(format_datetime(*parsed), text);
  }
}

TEST(Clock, TimePointRoundTripsToTheMicrosecond) {
  TimePoint t = std::chrono::time_point_cast<microseconds>(now());
  for (int i = 0; i < 100; ++i) {
    t += microseconds(123457);
    EXPECT_EQ(parse_datetime(format_datetime(t)), t);
  }
}

TEST(Clock, AcceptsTSeparatorAndShortOrMissingFraction) {
  ScopedTimeZone tz("UTC0");
  struct Case {
    const char* text;
    TimePoint expected;
  };
  const std::vector<Case> cases = {
      {"2026-11-22T14:42:57.542020", epoch_plus(1795358577, 542020)},
      {"2026-11-22 14:42:57", epoch_plus(1795358577)},
      {"2026-11-22 14:42:57.5", epoch_plus(1795358577, 500000)},
      {"2026-11-22 14:42:57.05", epoch_plus(1795358577, 50000)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_datetime(c.text), c.expected);
  }
}

TEST(Clock, MalformedTextIsNullopt) {
  const std::vector<std::string> malformed = {
      "",
      "garbage",
      "2026-11-22",
      "14:42:57",
      "2026-11-22X14:42:57",
      "2026/11/22 14:42:57",
      "2026-13-22 14:42:57",
      "2026-00-22 14:42:57",
      "2026-11-32 14:42:57",
      "2026-02-30 14:42:57",
      "2026-11-22 24:00:00",
      "2026-11-22 14:60:00",
      "2026-11-22 14:42:61",
      "2026-11-22 14:42:57junk",
      "2026-11-22 14:42:57.",
      "2026-11-22 14:42:57.12a",
      "2026-11-22 14:42:57.1234567",
      " 2026-11-22 14:42:57",
      "-2026-11-22 14:42:57",
      "2026-11-22 14:42",
  };
  for (const auto& text : malformed) {
    EXPECT_EQ(parse_datetime(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(Clock, UnixSecondsCountFromTheEpoch) {
  EXPECT_DOUBLE_EQ(unix_seconds(epoch_plus(0)), 0.0);
  EXPECT_DOUBLE_EQ(unix_seconds(epoch_plus(1700000000, 250000)), 1700000000.25);
}

TEST(Clock, SecondsBetween) {
  EXPECT_DOUBLE_EQ(seconds_between(epoch_plus(10), epoch_plus(12, 500000)), 2.5);
  EXPECT_DOUBLE_EQ(seconds_between(epoch_plus(12), epoch_plus(10)), -2.0);
}

}  // namespace
}  // namespace knob
