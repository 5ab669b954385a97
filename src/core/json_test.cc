// knob::dumps against Python's json.dumps text, and knob::loads on Python's extensions
// (NaN / Infinity / -Infinity) and on garbage.
#include "knob/core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "knob/core/error.h"

namespace knob {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Golden {
  Json value;
  const char* python;
};

// The right column was generated once with Debian's python (not the pyenv one on PATH):
//   /usr/bin/python3 -c 'import json
//   for v in [0, -1, 2**63-1, ..., 1e22]: print(json.dumps(v))'
// with exactly the values of the left column.
std::vector<Golden> goldens() {
  return {
      {0, "0"},
      {-1, "-1"},
      {std::numeric_limits<int64_t>::max(), "9223372036854775807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854775808"},
      {std::numeric_limits<uint64_t>::max(), "18446744073709551615"},
      {1.0, "1.0"},
      {-0.0, "-0.0"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {1e-05, "1e-05"},
      {0.0001, "0.0001"},
      {1e15, "1000000000000000.0"},
      {1234567890123456.0, "1234567890123456.0"},
      {1e16, "1e+16"},
      {1e100, "1e+100"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {123456.789, "123456.789"},
      {-2.5e-10, "-2.5e-10"},
      {true, "true"},
      {false, "false"},
      {nullptr, "null"},
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"a\"b\\c\n\t\r\b\f/", R"("a\"b\\c\n\t\r\b\f/")"},
      {"\x01\x1f\x7f", R"("\u0001\u001f\u007f")"},
      {"\u00e9\u65e5\u672c\U0001F600", R"("\u00e9\u65e5\u672c\ud83d\ude00")"},
      {Json::array(), "[]"},
      {Json::object(), "{}"},
      {Json::array({1, Json::array({2, Json::array({3, Json::object()})})}), "[1, [2, [3, {}]]]"},
      {Json::object({{"b", 1}, {"a", Json::array({1.5, "x", nullptr})}}),
       R"({"b": 1, "a": [1.5, "x", null]})"},
      {std::nan(""), "NaN"},
      {kInf, "Infinity"},
      {-kInf, "-Infinity"},
      {Json::object({{"k", Json::array({std::nan(""), kInf})}}), R"({"k": [NaN, Infinity]})"},
      {Json::object({{"\u00e9", "key"}}), R"({"\u00e9": "key"})"},
      // Shortest round-trip digits, which nlohmann's grisu2 misses for some numbers.
      {-6.4316515923029296e+16, "-6.43165159230293e+16"},
      {7.336284415480005e+15, "7336284415480005.0"},
      {9.4468e+15, "9446800000000000.0"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {0.30000000000000004, "0.30000000000000004"},
      {1e22, "1e+22"},
  };
}

TEST(JsonDumps, MatchesPythonJsonDumps) {
  for (const auto& g : goldens()) {
    EXPECT_EQ(dumps(g.value), g.python);
  }
}

TEST(JsonDumps, KeepsInsertionOrderOfKeys) {
  Json value = Json::object();
  value["z"] = 1;
  value["a"] = 2;
  value["m"] = 3;
  EXPECT_EQ(dumps(value), R"({"z": 1, "a": 2, "m": 3})");
}

TEST(JsonDumps, InvalidUtf8IsInvalidArgument) {
  EXPECT_THROW(dumps(Json("bad \xff byte")), InvalidArgument);
}

TEST(JsonLoads, ReadsEveryGoldenBack) {
  for (const auto& g : goldens()) {
    SCOPED_TRACE(g.python);
    Json read = loads(g.python);
    // NaN != NaN, so compare the text written back.
    EXPECT_EQ(dumps(read), g.python);
  }
}

TEST(JsonLoads, AcceptsPythonNonFiniteTokens) {
  Json value = loads(R"({"a": NaN, "b": [Infinity, -Infinity], "c": 1})");
  ASSERT_TRUE(value["a"].is_number_float());
  EXPECT_TRUE(std::isnan(value["a"].get<double>()));
  EXPECT_EQ(value["b"][0].get<double>(), kInf);
  EXPECT_EQ(value["b"][1].get<double>(), -kInf);
  EXPECT_EQ(value["c"].get<int64_t>(), 1);
}

TEST(JsonLoads, LeavesNonFiniteWordsInsideStringsAlone) {
  Json value = loads(R"(["NaN", "Infinity", "-Infinity", "a \"NaN\" b"])");
  EXPECT_EQ(value[0], "NaN");
  EXPECT_EQ(value[1], "Infinity");
  EXPECT_EQ(value[2], "-Infinity");
  EXPECT_EQ(value[3], "a \"NaN\" b");
}

TEST(JsonLoads, KeepsIntegersAndFloatsApart) {
  EXPECT_TRUE(loads("3").is_number_integer());
  EXPECT_TRUE(loads("3.0").is_number_float());
  EXPECT_EQ(loads("-9223372036854775808").get<int64_t>(), std::numeric_limits<int64_t>::min());
}

TEST(JsonLoads, RejectsGarbageNamingTheField) {
  const std::vector<std::string> garbage = {
      "",         " ",         "nan",  "-NaN",     "NaNa",   "Infinityx", "inf",
      "+1",       "{",         "[1,]", "{'a': 1}", "1 2",    "tru",       "\"open",
      "[1] junk", "{\"a\" 1}", "01",   "None",     "[NaN,]", "{\"a\": }",
  };
  for (const auto& text : garbage) {
    SCOPED_TRACE(text);
    try {
      loads(text, "user_attrs.lr");
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("user_attrs.lr = ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace knob
