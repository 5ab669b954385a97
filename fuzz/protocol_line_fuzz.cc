// Fuzzes the trial line protocol's parser (what a command objective's stdout is read with):
// each line of the input, with 1 to 3 study directions (the first byte chooses). A line that
// parses is formatted back with the child's writers and must parse to the same message
// (knob:prune's reason: once its control characters became spaces).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "fuzz_support.h"
#include "knob/run/trial_protocol.h"

namespace {

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  if (size == 0) return 0;
  const size_t n_values = 1 + data[0] % 3;
  std::istringstream lines(fuzz::text(data + 1, size - 1));
  for (std::string line; std::getline(lines, line);) {
    parse_protocol_number(line);
    if (!is_protocol_line(line)) continue;
    ProtocolMessage message;
    if (!fuzz::expect_bad_input([&] { message = parse_protocol_line(line, n_values); })) continue;
    if (auto* report = std::get_if<ProtocolReport>(&message)) {
      fuzz::fuzz_check(report->step >= 0, "a negative step was accepted");
      auto again = std::get<ProtocolReport>(
          parse_protocol_line(protocol_report_line(report->step, report->value), n_values));
      fuzz::fuzz_check(again.step == report->step && same(again.value, report->value),
                       "knob:report does not round-trip");
    } else if (auto* value = std::get_if<ProtocolValue>(&message)) {
      fuzz::fuzz_check(value->values.size() == n_values, "knob:value with the wrong count");
      auto again = std::get<ProtocolValue>(
          parse_protocol_line(protocol_value_line(value->values), n_values));
      for (size_t i = 0; i < n_values; ++i)
        fuzz::fuzz_check(same(again.values[i], value->values[i]), "knob:value does not round-trip");
    } else if (auto* attr = std::get_if<ProtocolAttr>(&message)) {
      auto again = std::get<ProtocolAttr>(
          parse_protocol_line(protocol_attr_line(attr->key, attr->value), n_values));
      fuzz::fuzz_check(again.key == attr->key && dumps(again.value) == dumps(attr->value),
                       "knob:attr does not round-trip");
    } else if (auto* constraints = std::get_if<ProtocolConstraints>(&message)) {
      auto again = std::get<ProtocolConstraints>(
          parse_protocol_line(protocol_constraints_line(constraints->values), n_values));
      fuzz::fuzz_check(again.values == constraints->values, "knob:constraints does not round-trip");
    } else {
      // The writer turns control characters into spaces (a newline would end the line), so
      // a reason round-trips once it has none.
      const std::string line_out = protocol_prune_line(std::get<ProtocolPrune>(message).reason);
      fuzz::fuzz_check(
          std::none_of(line_out.begin(), line_out.end(),
                       [](char c) { return std::iscntrl(static_cast<unsigned char>(c)); }),
          "knob:prune wrote a control character");
      auto once = std::get<ProtocolPrune>(parse_protocol_line(line_out, n_values));
      auto twice =
          std::get<ProtocolPrune>(parse_protocol_line(protocol_prune_line(once.reason), n_values));
      fuzz::fuzz_check(once.reason == twice.reason, "knob:prune does not round-trip");
    }
  }
  return 0;
}
