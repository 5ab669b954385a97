// CommandTemplate on its own: placeholders filled inside words, literal braces, the shell
// argument quoted, a formatter, and every malformed template refused before any trial.
#include "knob/run/command_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "knob/core/distribution.h"
#include "testing/test_support.h"

namespace knob {
namespace {

const std::vector<SearchParam> kSpace = {
    {"lr", FloatDistribution(1e-5, 1e-1, true)},
    {"width", IntDistribution(8, 64)},
    {"kind", CategoricalDistribution({std::string("sgd"), std::string("it's")})},
};

const std::map<std::string, ParamValue> kParams = {
    {"lr", 1e-05}, {"width", int64_t{16}}, {"kind", std::string("it's")}};

TEST(CommandTemplateTest, FillsPlaceholdersAndKeepsDoubledBraces) {
  CommandTemplate command({"prog", "--lr={lr}", "w{width}x{width}", "{{kind}}", "}", ""}, kSpace);
  EXPECT_EQ(command.expand(kParams),
            (std::vector<std::string>{"prog", "--lr=1e-05", "w16x16", "{kind}", "}", ""}));
}

TEST(CommandTemplateTest, QuotesValuesOnlyInTheShellArgument) {
  CommandTemplate command({"/bin/sh", "-c", "run {kind} {lr} {width}", "{kind}"}, kSpace, 2);
  EXPECT_EQ(command.expand(kParams),
            (std::vector<std::string>{"/bin/sh", "-c", "run 'it'\\''s' 1e-05 16", "it's"}));
}

TEST(CommandTemplateTest, AFormatterChoosesTheText) {
  CommandTemplate command({"prog", "{width}"}, kSpace);
  EXPECT_EQ(command.expand(kParams,
                           [](const std::string& name, const ParamValue& value) {
                             return name + "=" + to_string(value);
                           }),
            (std::vector<std::string>{"prog", "width=16"}));
}

TEST(CommandTemplateTest, MalformedTemplatesAreRefused) {
  struct Case {
    std::string name;
    std::vector<std::string> argv;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"unclosed", {"prog", "--lr={lr"}, {"--lr={lr", "without '}'"}},
      {"unknown", {"prog", "{depth}"}, {"{depth}", "lr, width, kind", "{{ and }}"}},
      {"empty name", {"prog", "{}"}, {"{}", "must name a parameter"}},
      {"awk braces", {"awk", "{print $1}"}, {"{print $1}"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { CommandTemplate(c.argv, kSpace); }, c.fragments);
  }
  testing::expect_invalid("no parameters",
                          [] {
                            CommandTemplate({"prog", "{lr}"}, {});
                          },
                          {"(none)"});
  const std::vector<SearchParam> conditional = {
      {"momentum", FloatDistribution(0.5, 0.99), {{"kind", {std::string("sgd")}}}},
      {"kind", CategoricalDistribution({std::string("sgd"), std::string("adam")})},
  };
  testing::expect_invalid("conditional",
                          [&] {
                            CommandTemplate({"prog", "{momentum}"}, conditional);
                          },
                          {"{momentum}", "conditional", "KNOB_PARAMS"});
}

TEST(CommandTemplateTest, AMissingValueIsRefused) {
  CommandTemplate command({"prog", "{lr}"}, kSpace);
  testing::expect_invalid("missing", [&] { command.expand({}); },
                          {"parameter", "lr", "has no value"});
}

TEST(CommandTemplateTest, EscapeAndQuote) {
  EXPECT_EQ(escape_placeholders("a{b}c"), "a{{b}}c");
  EXPECT_EQ(shell_quote("0.001"), "0.001");
  EXPECT_EQ(shell_quote("a-b_c/d.e:f=g@h,i%j+k"), "a-b_c/d.e:f=g@h,i%j+k");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("two words"), "'two words'");
  EXPECT_EQ(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace knob
