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
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", local.tm_year + 1900,
                local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                fraction);
  return text;
}

std::optional<TimePoint> parse_datetime(const std::string& text) {
  std::tm local{};
  char separator = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &local.tm_year, &local.tm_mon,
                  &local.tm_mday, &separator, &local.tm_hour, &local.tm_min, &local.tm_sec,
                  &consumed) != 7 ||
      (separator != ' ' && separator != 'T')) {
    return std::nullopt;
  }
  long micros = 0;
  if (static_cast<size_t>(consumed) < text.size() && text[consumed] == '.') {
    long scale = 100000;
    for (size_t i = consumed + 1; i < text.size() && scale > 0 && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      micros += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  local.tm_year -= 1900;
  local.tm_mon -= 1;
  local.tm_isdst = -1;
  std::time_t seconds = std::mktime(&local);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::microseconds(micros);
}

double seconds_between(TimePoint start, TimePoint end) {
  return std::chrono::duration<double>(end - start).count();
}

}  // namespace knob
