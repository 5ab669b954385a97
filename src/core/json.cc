#include "knob/core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "knob/core/error.h"

namespace knob {
namespace {

// Python's repr(float) for a finite x: the shortest digits that round-trip, in fixed notation
// when the decimal point falls within 16 digits (1e15 -> "1000000000000000.0") and in
// exponent notation otherwise ("1e+16", "1e-05"). nlohmann switches to exponents one digit
// earlier (1e15 -> "1e+15"), so the digits come from std::to_chars and the layout from here.
std::string python_float_repr(double x) {
  char buffer[64];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific).ptr;
  std::string text(buffer, end);  // "-d.ddde+XX"
  std::string out = std::signbit(x) ? "-" : "";
  size_t e = text.find('e');
  std::string digits;
  for (size_t i = out.size(); i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  int exponent = std::atoi(text.c_str() + e + 1);
  int point = exponent + 1;  // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) return out + "0." + std::string(-point, '0') + digits;
    if (point >= n) return out + digits + std::string(point - n, '0') + ".0";
    return out + digits.substr(0, point) + "." + digits.substr(point);
  }
  out += digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  char exp_text[16];
  std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_text;
}

// Python's json.dumps: ", " between items, ": " after keys, non-finite floats as bare words.
void write(const Json& value, std::string& out) {
  switch (value.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += ", ";
        first = false;
        out += Json(key).dump(-1, ' ', true);
        out += ": ";
        write(item, out);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ", ";
        first = false;
        write(item, out);
      }
      out += ']';
      return;
    }
    case Json::value_t::number_float: {
      double x = value.get<double>();
      if (std::isnan(x)) {
        out += "NaN";
      } else if (std::isinf(x)) {
        out += x > 0 ? "Infinity" : "-Infinity";
      } else {
        out += python_float_repr(x);
      }
      return;
    }
    default:
      out += value.dump(-1, ' ', true);
  }
}

// The markers start with U+0001, which no JSON text holds raw; they go into the text escaped
// (a raw control character inside a JSON string is invalid JSON) and come out decoded.
constexpr const char* kNanMark = "\x01knob-nan";
constexpr const char* kPosInfMark = "\x01knob-inf";
constexpr const char* kNegInfMark = "\x01knob-neg-inf";

std::string quoted_mark(const char* mark) { return std::string("\"\\u0001") + (mark + 1) + "\""; }

// Replaces Python's NaN / Infinity / -Infinity tokens (outside strings) by marker strings.
std::string mark_non_finite(const std::string& text, bool& found) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += quoted_mark(kNanMark);
      i += 2;
      found = true;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += quoted_mark(kPosInfMark);
      i += 7;
      found = true;
    } else if (text.compare(i, 9, "-Infinity") == 0) {
      out += quoted_mark(kNegInfMark);
      i += 8;
      found = true;
    } else {
      out += c;
    }
  }
  return out;
}

void unmark_non_finite(Json& value) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == kNanMark)
      value = std::nan("");
    else if (s == kPosInfMark)
      value = HUGE_VAL;
    else if (s == kNegInfMark)
      value = -HUGE_VAL;
  } else if (value.is_structured()) {
    for (auto& item : value) unmark_non_finite(item);
  }
}

}  // namespace

std::string dumps(const Json& value) {
  std::string out;
  try {
    write(value, out);
  } catch (const Json::type_error& e) {  // a string that is not UTF-8: Python has none
    throw_invalid("json string", std::string(e.what()), "must be valid UTF-8");
  }
  return out;
}

Json loads(const std::string& text, const std::string& field) {
  bool found = false;
  std::string marked = mark_non_finite(text, found);
  Json value = Json::parse(marked, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw_invalid(field, text, "must be valid JSON");
  if (found) unmark_non_finite(value);
  return value;
}

}  // namespace knob
