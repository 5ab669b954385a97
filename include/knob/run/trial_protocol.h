// The trial line protocol, both sides: what a trial's program prints on stdout for knob to act
// on, parsed into a typed message with a clear error for a malformed line (the parent, a
// CommandObjective), and those lines formatted and flushed (the child, `knob train --protocol`
// or any C++ program run as a command objective). docs/config.md has the table of lines.
//
// Example (child):
//   knob::write_protocol_line(knob::protocol_report_line(3, 0.81));  // knob:report 3 0.81
//   knob::write_protocol_line(knob::protocol_constraints_line({-3.5}));  // knob:constraints [-3.5]
//   knob::write_protocol_line(knob::protocol_value_line({0.86}));    // knob:value 0.86
//   (or, to end the trial PRUNED: knob::protocol_prune_line("loss is NaN"))
// Example (parent):
//   if (knob::is_protocol_line(line)) {
//     auto message = knob::parse_protocol_line(line, study.directions().size());
//     if (auto* report = std::get_if<knob::ProtocolReport>(&message)) ...
//   }
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "knob/core/error.h"
#include "knob/core/json.h"

namespace knob {

// knob:report STEP VALUE — an intermediate value (STEP an integer >= 0).
struct ProtocolReport {
  int64_t step = 0;
  double value = 0.0;
  std::string value_text;  // VALUE as the program wrote it
};

// knob:attr KEY JSON — a user attribute (KEY without spaces, any JSON value).
struct ProtocolAttr {
  std::string key;
  Json value;
};

// knob:value V [V2 ...] — the final value, one number per study direction.
struct ProtocolValue {
  std::vector<double> values;
};

// knob:constraints [C1, C2, ...] — the trial's constraint values as a JSON list of numbers,
// Optuna's semantics: each <= 0 when its constraint holds (stored as the system attribute
// "constraints", which Optuna's samplers and knob's read).
struct ProtocolConstraints {
  std::vector<double> values;
};

// knob:prune [REASON] — the program stopped the trial itself, as raising optuna.TrialPruned
// does (e.g. its loss diverged): the trial ends PRUNED, its reports kept, and a non-empty
// REASON (free text) is stored as the system attribute kPruneReasonAttr.
struct ProtocolPrune {
  std::string reason;
};
inline constexpr const char* kPruneReasonAttr = "knob:prune_reason";

using ProtocolMessage =
    std::variant<ProtocolReport, ProtocolAttr, ProtocolValue, ProtocolConstraints, ProtocolPrune>;

// A line that starts like a protocol line but does not parse. what() is
// `malformed protocol line "LINE": REASON` (LINE cut after 200 bytes).
class ProtocolError : public InvalidArgument {
 public:
  ProtocolError(std::string_view line, std::string reason);
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// The verb of a protocol line ("report" for "knob:report 3 0.8"), or "" when the line is
// plain output: it does not start with "knob:" directly followed by a word.
std::string_view protocol_verb(std::string_view line);
inline bool is_protocol_line(std::string_view line) { return !protocol_verb(line).empty(); }

// Parses a protocol line (is_protocol_line(line) must hold); a knob:value line must hold
// `n_values` numbers. Throws ProtocolError for a malformed line or an unknown verb.
ProtocolMessage parse_protocol_line(std::string_view line, size_t n_values);

// A number as the protocol reads one (VALUE, V): decimal or exponent notation, a leading '+'
// allowed, nothing around it; nullopt otherwise.
std::optional<double> parse_protocol_number(std::string_view text);

// The child side: the text of each line, without the newline. Numbers are written as
// Python's json.dumps writes them (shortest round trip: 0.1, 1e-05); attribute keys must be
// non-empty words without spaces and `values` non-empty (InvalidArgument otherwise).
std::string protocol_report_line(int64_t step, double value);
std::string protocol_attr_line(const std::string& key, const Json& value);
std::string protocol_value_line(const std::vector<double>& values);
// `values` non-empty and not NaN (InvalidArgument otherwise); infinities as Python writes them.
std::string protocol_constraints_line(const std::vector<double>& values);
// Control characters in `reason` (a newline would end the line) become spaces.
std::string protocol_prune_line(const std::string& reason);

// Writes `line` and a newline to `out` and flushes at once: the parent acts on each line as
// it arrives.
void write_protocol_line(const std::string& line, std::FILE* out = stdout);

}  // namespace knob
