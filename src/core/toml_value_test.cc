#include "knob/core/toml_value.h"

#include <gtest/gtest.h>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

TEST(TomlValueTest, ReadsEveryKindOfValue) {
  TomlValue root =
      parse_toml("b = true\ni = 3\nf = 0.5\ns = \"x\"\nlist = [1, 2]\n[t]\nk = \"v\"\n", "v.toml");
  ASSERT_TRUE(root.is_table());
  EXPECT_EQ(*root.get("b")->as<bool>(), true);
  EXPECT_EQ(*root.get("i")->as<int64_t>(), 3);
  EXPECT_EQ(*root.get("f")->as<double>(), 0.5);
  EXPECT_EQ(*root.get("s")->as<std::string>(), "x");
  EXPECT_EQ(root.get("list")->as<TomlValue::Array>()->size(), 2u);
  EXPECT_EQ(*root.get("t")->get("k")->as<std::string>(), "v");
  EXPECT_EQ(root.get("missing"), nullptr);
  EXPECT_EQ(root.get("i")->get("k"), nullptr);      // not a table
  EXPECT_EQ(root.get("i")->as<double>(), nullptr);  // no conversions
}

TEST(TomlValueTest, TextIsAsWrittenInAFile) {
  struct Case {
    TomlValue value;
    std::string text;
  };
  const std::vector<Case> cases = {
      {true, "true"},
      {int64_t{-4}, "-4"},
      {1.0, "1.0"},
      {0.1, "0.1"},
      {std::string("yes"), "\"yes\""},
      {TomlValue::Array{int64_t{1}, std::string("a")}, "[1, \"a\"]"},
      {TomlValue::Table{{"a", int64_t{1}}, {"b", false}}, "{ a = 1, b = false }"},
      {TomlValue::Table{}, "{}"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.value.text(), c.text);
}

TEST(TomlValueTest, KeysKeepTheParsersOrder) {
  TomlValue root = parse_toml("z = 1\na = 2\nm = 3\n", "o.toml");
  std::vector<std::string> keys;
  for (const auto& [key, value] : *root.as<TomlValue::Table>()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "m", "z"}));
}

TEST(TomlValueTest, BadTomlNamesTheFileLineAndColumn) {
  testing::expect_invalid("unclosed table", [] { parse_toml("x = 1\n[study\n", "bad.toml"); },
                          {"bad.toml:2:", "not valid TOML"});
}

}  // namespace
}  // namespace knob
