#include "knob/core/json.h"

#include <cmath>

#include "knob/core/error.h"

namespace knob {
namespace {

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
        out += value.dump();
      }
      return;
    }
    default:
      out += value.dump(-1, ' ', true);
  }
}

constexpr const char* kNanMark = "\x01knob-nan";
constexpr const char* kPosInfMark = "\x01knob-inf";
constexpr const char* kNegInfMark = "\x01knob-neg-inf";

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
      out += std::string("\"") + kNanMark + "\"";
      i += 2;
      found = true;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += std::string("\"") + kPosInfMark + "\"";
      i += 7;
      found = true;
    } else if (text.compare(i, 9, "-Infinity") == 0) {
      out += std::string("\"") + kNegInfMark + "\"";
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
    if (s == kNanMark) value = std::nan("");
    else if (s == kPosInfMark) value = HUGE_VAL;
    else if (s == kNegInfMark) value = -HUGE_VAL;
  } else if (value.is_structured()) {
    for (auto& item : value) unmark_non_finite(item);
  }
}

}  // namespace

std::string dumps(const Json& value) {
  std::string out;
  write(value, out);
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
