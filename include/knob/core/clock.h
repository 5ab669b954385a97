// Wall-clock times as Optuna stores them: naive local time, "YYYY-MM-DD HH:MM:SS.ffffff"
// (SQLAlchemy's text form for DATETIME columns in SQLite).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace knob {

using TimePoint = std::chrono::system_clock::time_point;

TimePoint now();
// "2026-11-22 14:42:57.542020" in local time.
std::string format_datetime(TimePoint time);
// Parses the form above (fraction optional, "T" accepted for the space); nullopt if malformed.
std::optional<TimePoint> parse_datetime(const std::string& text);
// Seconds between two time points.
double seconds_between(TimePoint start, TimePoint end);
// Seconds since the Unix epoch (1970-01-01 00:00:00 UTC), as TensorBoard and deadlines store
// wall times.
double unix_seconds(TimePoint time);

}  // namespace knob
