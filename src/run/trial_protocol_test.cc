// The trial line protocol on its own: which lines are protocol, each verb parsed into its
// message, every malformed line refused with the line and what was expected, and the child
// side's lines read back by the parent side.
#include "knob/run/trial_protocol.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;

TEST(TrialProtocolTest, OnlyKnobColonAndAWordIsProtocol) {
  struct Case {
    std::string line;
    std::string verb;
  };
  const std::vector<Case> cases = {
      {"knob:report 3 0.5", "report"},
      {"knob:value 1", "value"},
      {"knob:attr\tk 1", "attr"},
      {"knob:frobnicate", "frobnicate"},
      {"knob:", ""},
      {"knob: report 1 2", ""},
      {"knob:\tvalue 1", ""},
      {" knob:value 1", ""},
      {"KNOB:value 1", ""},
      {"epoch 3 loss 0.5", ""},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(protocol_verb(c.line), c.verb) << c.line;
    EXPECT_EQ(is_protocol_line(c.line), !c.verb.empty()) << c.line;
  }
}

TEST(TrialProtocolTest, ParsesEachVerb) {
  auto report = std::get<ProtocolReport>(parse_protocol_line("knob:report  7\t+0.25 ", 1));
  EXPECT_EQ(report.step, 7);
  EXPECT_EQ(report.value, 0.25);
  EXPECT_EQ(report.value_text, "+0.25");

  auto attr = std::get<ProtocolAttr>(parse_protocol_line("knob:attr  history {\"a\": [1, 2]}", 1));
  EXPECT_EQ(attr.key, "history");
  EXPECT_EQ(dumps(attr.value), "{\"a\": [1, 2]}");

  auto value = std::get<ProtocolValue>(parse_protocol_line("knob:value 0.5 -1e-3", 2));
  EXPECT_EQ(value.values, (std::vector<double>{0.5, -1e-3}));

  // Any number of constraints, whatever the number of directions.
  auto constraints =
      std::get<ProtocolConstraints>(parse_protocol_line("knob:constraints [-2, 0.5, 1e-3]", 1));
  EXPECT_EQ(constraints.values, (std::vector<double>{-2.0, 0.5, 1e-3}));
  EXPECT_EQ(
      std::get<ProtocolConstraints>(parse_protocol_line("knob:constraints [Infinity]", 2)).values,
      std::vector<double>{std::numeric_limits<double>::infinity()});

  // The reason is optional free text, trimmed.
  EXPECT_EQ(std::get<ProtocolPrune>(parse_protocol_line("knob:prune", 1)).reason, "");
  EXPECT_EQ(std::get<ProtocolPrune>(parse_protocol_line("knob:prune \t loss is NaN  ", 2)).reason,
            "loss is NaN");
}

TEST(TrialProtocolTest, MalformedLinesAreRefusedNamingTheLineAndWhatWasExpected) {
  struct Case {
    std::string line;
    size_t n_values;
    std::string reason;
  };
  const std::string report = "expected `knob:report STEP VALUE` (STEP an integer >= 0)";
  const std::string numbers = "expected `knob:value V` with numbers only";
  const std::string kAttrKey =
      "KEY of `knob:attr KEY JSON` must be a word without spaces or control characters";
  const std::string kUnknown =
      "unknown; the protocol has knob:report, knob:attr, knob:constraints, knob:value and "
      "knob:prune";
  const std::string constraints =
      "expected `knob:constraints [C1, C2, ...]`, a non-empty JSON list of numbers, not NaN "
      "(<= 0: the constraint holds)";
  const std::vector<Case> cases = {
      {"knob:report", 1, report},
      {"knob:report 3", 1, report},
      {"knob:report 3 0.5 extra", 1, report},
      {"knob:report -1 0.5", 1, report},
      {"knob:report 1.5 0.5", 1, report},
      {"knob:report three 0.5", 1, report},
      {"knob:report 3 fast", 1, report},
      {"knob:report 3 0.5x", 1, report},
      {"knob:attr", 1, "expected `knob:attr KEY JSON`"},
      {"knob:attr key", 1, "expected `knob:attr KEY JSON`"},
      {"knob:attr key {not json", 1, "the value of `knob:attr KEY JSON` is not JSON"},
      {"knob:attr key 1 2", 1, "the value of `knob:attr KEY JSON` is not JSON"},
      // Found by fuzz/protocol_line_fuzz: a key the child side could not write back.
      {"knob:attr n\vkey 1", 1, kAttrKey},
      {"knob:attr key\r 1", 1, kAttrKey},
      {std::string("knob:attr k\x02\x1b[2J 1"), 1, kAttrKey},
      {"knob:value", 1, "expected 1 value(s), one per study direction"},
      {"knob:value 0.5", 2, "expected 2 value(s), one per study direction"},
      {"knob:value 0.5 0.25", 1, "expected 1 value(s), one per study direction"},
      {"knob:value high", 1, numbers},
      {"knob:value 0.5,", 1, numbers},
      {"knob:values 0.5", 1, kUnknown},
      {"knob:constraints", 1, constraints},
      {"knob:constraints []", 1, constraints},
      {"knob:constraints 0.5", 1, constraints},
      {"knob:constraints 0.5 1", 1, constraints},
      {"knob:constraints [0.5, \"x\"]", 1, constraints},
      {"knob:constraints [NaN]", 1, constraints},
      {"knob:constraints [1, [2]]", 1, constraints},
      {"knob:constraints {\"a\": 1}", 1, constraints},
      {"knob:constraint [1]", 1, kUnknown},
      {"knob:Report 1 2", 1, kUnknown},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    try {
      parse_protocol_line(c.line, c.n_values);
      ADD_FAILURE() << "no error";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.reason(), c.reason);
      EXPECT_EQ(std::string(e.what()), "malformed protocol line \"" + c.line + "\": " + c.reason);
    }
  }
}

TEST(TrialProtocolTest, ALongMalformedLineIsQuotedCut) {
  const std::string line = "knob:report " + std::string(500, 'x');
  try {
    parse_protocol_line(line, 1);
    ADD_FAILURE() << "no error";
  } catch (const ProtocolError& e) {
    expect_contains(e.what(), {"\"" + line.substr(0, 200) + "...\""});
    EXPECT_EQ(std::string(e.what()).find(line.substr(0, 201)), std::string::npos);
  }
}

TEST(TrialProtocolTest, ProtocolErrorIsBadInput) {
  EXPECT_THROW(parse_protocol_line("knob:nope", 1), InvalidArgument);
  EXPECT_THROW(parse_protocol_line("not protocol", 1), ProtocolError);
}

TEST(TrialProtocolTest, NumbersAreReadAsThePythonSideWritesThem) {
  EXPECT_EQ(parse_protocol_number("0.001"), 0.001);
  EXPECT_EQ(parse_protocol_number("1e-05"), 1e-05);
  EXPECT_EQ(parse_protocol_number("+3"), 3.0);
  EXPECT_EQ(parse_protocol_number("-2.5E3"), -2500.0);
  for (const char* bad : {"", "+", " 1", "1 ", "1,5", "0x10", "one"}) {
    EXPECT_FALSE(parse_protocol_number(bad)) << bad;
  }
}

TEST(TrialProtocolTest, ChildLinesAreWhatTheParentReads) {
  EXPECT_EQ(protocol_report_line(3, 0.81), "knob:report 3 0.81");
  EXPECT_EQ(protocol_report_line(0, 1e-05), "knob:report 0 1e-05");
  EXPECT_EQ(protocol_attr_line("stop_reason", Json("patience")),
            "knob:attr stop_reason \"patience\"");
  EXPECT_EQ(protocol_value_line({0.86}), "knob:value 0.86");
  EXPECT_EQ(protocol_value_line({0.5, 2.0}), "knob:value 0.5 2.0");

  auto report = std::get<ProtocolReport>(parse_protocol_line(protocol_report_line(12, 0.1), 1));
  EXPECT_EQ(report.step, 12);
  EXPECT_EQ(report.value, 0.1);
  Json history = Json::object();
  history["val_accuracy"] = Json::array();
  history["val_accuracy"].push_back(0.5);
  auto attr =
      std::get<ProtocolAttr>(parse_protocol_line(protocol_attr_line("history", history), 1));
  EXPECT_EQ(attr.key, "history");
  EXPECT_EQ(dumps(attr.value), dumps(history));
  auto value = std::get<ProtocolValue>(parse_protocol_line(protocol_value_line({0.1, 1e300}), 2));
  EXPECT_EQ(value.values, (std::vector<double>{0.1, 1e300}));
  EXPECT_EQ(protocol_constraints_line({-50.0, 0.25}), "knob:constraints [-50.0, 0.25]");
  auto constraints = std::get<ProtocolConstraints>(
      parse_protocol_line(protocol_constraints_line({-1e-05, 3.0}), 1));
  EXPECT_EQ(constraints.values, (std::vector<double>{-1e-05, 3.0}));

  EXPECT_EQ(protocol_prune_line(""), "knob:prune");
  // A newline in the reason would end the line: control characters become spaces.
  EXPECT_EQ(protocol_prune_line("loss nan\nat step 3\x1b"), "knob:prune loss nan at step 3 ");
  EXPECT_EQ(std::get<ProtocolPrune>(
                parse_protocol_line(protocol_prune_line("training diverged: loss inf"), 1))
                .reason,
            "training diverged: loss inf");
}

TEST(TrialProtocolTest, ChildSideRefusesLinesTheParentWouldNotRead) {
  testing::expect_invalid("negative step", [] { protocol_report_line(-1, 0.5); },
                          {"knob:report step", "-1", ">= 0"});
  testing::expect_invalid("empty key", [] { protocol_attr_line("", Json(1)); },
                          {"knob:attr key", "without spaces"});
  testing::expect_invalid("key with a space", [] { protocol_attr_line("a b", Json(1)); },
                          {"knob:attr key", "\"a b\""});
  testing::expect_invalid("key with a control byte", [] { protocol_attr_line("a\vb", Json(1)); },
                          {"knob:attr key", "control characters"});
  testing::expect_invalid("no values", [] { protocol_value_line({}); },
                          {"knob:value values", "one number per study direction"});
  testing::expect_invalid("no constraints", [] { protocol_constraints_line({}); },
                          {"knob:constraints values", "one number per constraint"});
  testing::expect_invalid(
      "NaN constraint",
      [] {
        protocol_constraints_line({0.0, std::numeric_limits<double>::quiet_NaN()});
      },
      {"knob:constraints values[1]", "not NaN"});
}

TEST(TrialProtocolTest, WriteProtocolLineEndsTheLineAndFlushes) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  write_protocol_line("knob:value 1", file);
  write_protocol_line("knob:report 0 2", file);
  std::rewind(file);
  char text[64] = {};
  size_t n = std::fread(text, 1, sizeof text - 1, file);
  std::fclose(file);
  EXPECT_EQ(std::string(text, n), "knob:value 1\nknob:report 0 2\n");
}

}  // namespace
}  // namespace knob
