#include "knob/core/clock.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace knob {

TimePoint now() { return std::chrono::system_clock::now(); }

std::string format_datetime(TimePoint time) {
  using namespace std::chrono;
  auto micros = duration_cast<microseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  long fraction = static_cast<long>(micros % 1000000);
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", local.tm_year + 1900,
                local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                fraction);
  return text;
}

namespace {

// Reads exactly `n` digits at `pos` into `out`.
bool read_digits(const std::string& text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<TimePoint> parse_datetime(const std::string& text) {
  // Exactly "YYYY-MM-DD HH:MM:SS" ("T" for the space), then optionally "." and 1-6 digits;
  // fields out of range (month 13, Feb 30, 24:00) are malformed, not normalized by mktime.
  int year, month, day, hour, minute, second;
  if (!read_digits(text, 0, 4, year) || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day) || (text[10] != ' ' && text[10] != 'T') ||
      !read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  long micros = 0;
  if (text.size() > 19) {
    const size_t n = text.size() - 20;
    int fraction = 0;
    if (text[19] != '.' || n < 1 || n > 6 || !read_digits(text, 20, n, fraction)) {
      return std::nullopt;
    }
    micros = fraction;
    for (size_t i = n; i < 6; ++i) micros *= 10;
  }
  std::tm local{};
  local.tm_year = year - 1900;
  local.tm_mon = month - 1;
  local.tm_mday = day;
  local.tm_hour = hour;
  local.tm_min = minute;
  local.tm_sec = second;
  local.tm_isdst = -1;
  std::time_t seconds = std::mktime(&local);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::microseconds(micros);
}

double seconds_between(TimePoint start, TimePoint end) {
  return std::chrono::duration<double>(end - start).count();
}

double unix_seconds(TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace knob
