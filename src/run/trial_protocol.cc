#include "knob/run/trial_protocol.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace knob {
namespace {

constexpr size_t kShownLine = 200;  // bytes of a malformed line quoted in the error

std::string quoted_line(std::string_view line) {
  return line.size() > kShownLine ? std::string(line.substr(0, kShownLine)) + "..."
                                  : std::string(line);
}

bool parse_double(std::string_view text, double& out) {
  auto number = parse_protocol_number(text);
  if (number) out = *number;
  return number.has_value();
}

bool parse_int(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// An attribute key as both sides take it: non-empty, no whitespace or control bytes (a key
// is stored and shown as is; the parser splits only at ' ' and '\t').
bool is_attr_key(std::string_view key) {
  return !key.empty() && std::none_of(key.begin(), key.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || std::iscntrl(u);
  });
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

ProtocolReport parse_report(std::string_view line, std::string_view args) {
  auto words = split_words(args);
  ProtocolReport report;
  if (words.size() != 2 || !parse_int(words[0], report.step) || report.step < 0 ||
      !parse_double(words[1], report.value)) {
    throw ProtocolError(line, "expected `knob:report STEP VALUE` (STEP an integer >= 0)");
  }
  report.value_text = std::string(words[1]);
  return report;
}

ProtocolAttr parse_attr(std::string_view line, std::string_view args) {
  while (!args.empty() && is_blank(args.front())) args.remove_prefix(1);
  size_t gap = args.find_first_of(" \t");
  if (gap == std::string_view::npos || gap == 0) {
    throw ProtocolError(line, "expected `knob:attr KEY JSON`");
  }
  ProtocolAttr attr;
  attr.key = std::string(args.substr(0, gap));
  if (!is_attr_key(attr.key)) {
    throw ProtocolError(line,
                        "KEY of `knob:attr KEY JSON` must be a word without spaces or "
                        "control characters");
  }
  try {
    attr.value = loads(std::string(args.substr(gap + 1)), "knob:attr " + attr.key);
  } catch (const InvalidArgument&) {
    throw ProtocolError(line, "the value of `knob:attr KEY JSON` is not JSON");
  }
  return attr;
}

ProtocolValue parse_value(std::string_view line, std::string_view args, size_t n_values) {
  ProtocolValue value;
  for (auto word : split_words(args)) {
    double x;
    if (!parse_double(word, x)) {
      throw ProtocolError(line, "expected `knob:value V` with numbers only");
    }
    value.values.push_back(x);
  }
  if (value.values.size() != n_values) {
    throw ProtocolError(
        line, "expected " + std::to_string(n_values) + " value(s), one per study direction");
  }
  return value;
}

ProtocolConstraints parse_constraints(std::string_view line, std::string_view args) {
  const char* const form =
      "expected `knob:constraints [C1, C2, ...]`, a non-empty JSON list of numbers, not NaN "
      "(<= 0: the constraint holds)";
  Json list;
  try {
    list = loads(std::string(args), "knob:constraints");
  } catch (const InvalidArgument&) {
    throw ProtocolError(line, form);
  }
  if (!list.is_array() || list.empty()) throw ProtocolError(line, form);
  ProtocolConstraints constraints;
  for (const auto& item : list) {
    if (!item.is_number() || std::isnan(item.get<double>())) throw ProtocolError(line, form);
    constraints.values.push_back(item.get<double>());
  }
  return constraints;
}

std::string number_text(double value) { return dumps(Json(value)); }

std::string trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

std::optional<double> parse_protocol_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double out;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

ProtocolError::ProtocolError(std::string_view line, std::string reason)
    : InvalidArgument("malformed protocol line \"" + quoted_line(line) + "\": " + reason),
      reason_(std::move(reason)) {}

std::string_view protocol_verb(std::string_view line) {
  constexpr std::string_view kPrefix = "knob:";
  if (line.substr(0, kPrefix.size()) != kPrefix || line.size() == kPrefix.size() ||
      is_blank(line[kPrefix.size()])) {
    return {};
  }
  std::string_view rest = line.substr(kPrefix.size());
  return rest.substr(0, rest.find_first_of(" \t"));
}

ProtocolMessage parse_protocol_line(std::string_view line, size_t n_values) {
  std::string_view verb = protocol_verb(line);
  if (verb.empty()) throw ProtocolError(line, "not a protocol line (knob:VERB ...)");
  std::string_view rest = line.substr(5 + verb.size());
  std::string_view args = rest.empty() ? rest : rest.substr(1);  // after the blank
  if (verb == "report") return parse_report(line, args);
  if (verb == "attr") return parse_attr(line, args);
  if (verb == "value") return parse_value(line, args, n_values);
  if (verb == "constraints") return parse_constraints(line, args);
  if (verb == "prune") return ProtocolPrune{trimmed(args)};
  throw ProtocolError(line,
                      "unknown; the protocol has knob:report, knob:attr, knob:constraints, "
                      "knob:value and knob:prune");
}

std::string protocol_report_line(int64_t step, double value) {
  KNOB_CHECK(step >= 0, "knob:report step", step, "must be >= 0");
  return "knob:report " + std::to_string(step) + " " + number_text(value);
}

std::string protocol_attr_line(const std::string& key, const Json& value) {
  KNOB_CHECK(is_attr_key(key), "knob:attr key", key,
             "must be a non-empty word without spaces or control characters");
  return "knob:attr " + key + " " + dumps(value);
}

std::string protocol_value_line(const std::vector<double>& values) {
  KNOB_CHECK(!values.empty(), "knob:value values", values.size(),
             "must hold one number per study direction");
  std::string line = "knob:value";
  for (double v : values) line += " " + number_text(v);
  return line;
}

std::string protocol_constraints_line(const std::vector<double>& values) {
  KNOB_CHECK(!values.empty(), "knob:constraints values", values.size(),
             "must hold one number per constraint");
  std::string line = "knob:constraints [";
  for (size_t i = 0; i < values.size(); ++i) {
    KNOB_CHECK(!std::isnan(values[i]), "knob:constraints values[" + std::to_string(i) + "]",
               values[i], "must be a number, not NaN (<= 0: the constraint holds)");
    line += (i ? ", " : "") + number_text(values[i]);
  }
  return line + "]";
}

std::string protocol_prune_line(const std::string& reason) {
  std::string line = "knob:prune";
  if (reason.empty()) return line;
  line += ' ';
  for (char c : reason) line += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
  return line;
}

void write_protocol_line(const std::string& line, std::FILE* out) {
  std::fwrite(line.data(), 1, line.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
}

}  // namespace knob
