// Distributions against Optuna 3.1's semantics (Debian's python3-optuna,
// /usr/lib/python3/dist-packages/optuna/distributions.py): validation, the step grid,
// contains / single / internal <-> external, JSON byte for byte, legacy names, compatibility.
#include "knob/core/distribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "knob/core/error.h"

namespace knob {
namespace {

// EXPECT_TRUE(has_substr(text, part)) prints both on failure.
::testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNan = std::nan("");

ParamValue none() { return std::monostate{}; }
ParamValue str(const char* s) { return std::string(s); }
ParamValue i64(int64_t v) { return v; }

// Runs `make` and returns the InvalidArgument message ("" if nothing was thrown).
std::string invalid_message(const std::function<void()>& make) {
  try {
    make();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------- validation

struct BadConstruction {
  const char* name;
  std::function<void()> make;
  const char* names;  // the message must contain "<field> = <value>"
};

TEST(DistributionValidation, RejectsMalformedArgumentsNamingFieldAndValue) {
  const std::vector<BadConstruction> cases = {
      {"float low > high", [] { FloatDistribution(2.0, 1.0); }, "low = 2"},
      {"float log with low == 0", [] { FloatDistribution(0.0, 1.0, true); }, "low = 0"},
      {"float log with low < 0", [] { FloatDistribution(-1.0, 1.0, true); }, "low = -1"},
      {"float step with log", [] { FloatDistribution(1.0, 10.0, true, 0.5); }, "step = 0.5"},
      {"float step == 0", [] { FloatDistribution(0.0, 1.0, false, 0.0); }, "step = 0"},
      {"float step < 0", [] { FloatDistribution(0.0, 1.0, false, -0.5); }, "step = -0.5"},
      {"float low NaN", [] { FloatDistribution(kNan, 1.0); }, "low = nan"},
      {"float high inf", [] { FloatDistribution(0.0, kInf); }, "high = inf"},
      {"int low > high", [] { IntDistribution(5, 1); }, "low = 5"},
      {"int log with low == 0", [] { IntDistribution(0, 10, true); }, "low = 0"},
      {"int log with low < 0", [] { IntDistribution(-3, 10, true); }, "low = -3"},
      {"int log with step 2", [] { IntDistribution(1, 10, true, 2); }, "step = 2"},
      {"int step == 0", [] { IntDistribution(0, 10, false, 0); }, "step = 0"},
      {"int step < 0", [] { IntDistribution(0, 10, false, -2); }, "step = -2"},
      {"empty categorical", [] { CategoricalDistribution({}); }, "choices = "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(has_substr(invalid_message(c.make), c.names));
  }
}

TEST(DistributionValidation, AcceptsBoundaryArguments) {
  EXPECT_NO_THROW(FloatDistribution(1.0, 1.0));
  EXPECT_NO_THROW(FloatDistribution(1e-300, 1.0, true));
  EXPECT_NO_THROW(IntDistribution(1, 1, true));
  EXPECT_NO_THROW(IntDistribution(-5, -5));
  EXPECT_NO_THROW(CategoricalDistribution({none()}));
}

// ---------------------------------------------------------------- the step grid

// expected_high: repr(FloatDistribution(low, high, step=step).high), generated once with
//   /usr/bin/python3 -c 'from optuna.distributions import FloatDistribution as F
//   print(repr(F(-0.77, 2.2, step=1/24).high))'   (and likewise for each row)
struct FloatGrid {
  double low, high, step, expected_high;
};

TEST(DistributionGrid, FloatHighIsRoundedDownOntoTheGridAsOptunaDoes) {
  const std::vector<FloatGrid> cases = {
      {0.0, 1.0, 0.3, 0.9},
      {0.1, 1.0, 0.3, 1.0},
      {0.0, 1.0, 1.0 / 3.0, 0.9999999999999999},  // Optuna: Decimal(str(1/3)) * 3
      {0.1, 0.3, 0.2, 0.3},
      {0.0, 0.29, 0.3, 0.0},
      {-1.0, 1.0, 0.25, 1.0},
      {1e-05, 0.00155, 1e-05, 0.00155},
      {0.0, 10.0, 3.0, 9.0},
      {-0.77, 2.2, 1.0 / 24.0, 2.188333333333333},
      {2.1, 2.96, 1.0 / 29.0, 2.9275862068965517},
      {-3.841, 2.159, 1.0 / 3.0, 2.1589999999999994},
      {4.1, 6.4806, 1.0 / 3.0, 6.433333333333333},
      {2.516, 18.501, 1.0 / 30.0, 18.482666666666667},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.low << " " << c.high << " step " << c.step);
    FloatDistribution d(c.low, c.high, false, c.step);
    EXPECT_EQ(d.high, c.expected_high);  // exactly, not approximately
    EXPECT_EQ(d.low, c.low);
  }
}

TEST(DistributionGrid, IntHighIsRoundedDownOntoTheGrid) {
  struct Case {
    int64_t low, high, step, expected_high;
  };
  const std::vector<Case> cases = {
      {0, 10, 3, 9}, {0, 9, 3, 9}, {0, 1, 2, 0}, {1, 3, 2, 3}, {-7, 7, 5, 3}, {16, 520, 16, 512},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.low << " " << c.high << " step " << c.step);
    EXPECT_EQ(IntDistribution(c.low, c.high, false, c.step).high, c.expected_high);
  }
}

TEST(DistributionGrid, IntFullRangeDoesNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(IntDistribution(kMin, kMax).high, kMax);
  EXPECT_EQ(IntDistribution(kMin, kMax, false, 2).high, kMax - 1);
  EXPECT_EQ(IntDistribution(-1, kMax, false, kMax).high, kMax - 1);
}

// ---------------------------------------------------------------- contains / single

TEST(DistributionContains, MatchesOptunaOnRangeAndGrid) {
  struct Case {
    const char* name;
    Distribution d;
    double x;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"float inside", FloatDistribution(0, 1), 0.5, true},
      {"float at low", FloatDistribution(0, 1), 0.0, true},
      {"float at high", FloatDistribution(0, 1), 1.0, true},
      {"float above", FloatDistribution(0, 1), 1.0000001, false},
      {"float below", FloatDistribution(0, 1), -1e-12, false},
      {"float NaN", FloatDistribution(0, 1), kNan, false},
      {"float step on grid", FloatDistribution(0, 1, false, 0.1), 0.3, true},
      {"float step on grid, fp noise", FloatDistribution(0, 1, false, 0.1), 0.30000000000000004,
       true},
      {"float step off grid", FloatDistribution(0, 1, false, 0.1), 0.35, false},
      {"float log inside", FloatDistribution(1e-3, 1, true), 0.01, true},
      {"int inside", IntDistribution(0, 10, false, 3), 3, true},
      {"int at high", IntDistribution(0, 10, false, 3), 9, true},
      {"int beyond adjusted high", IntDistribution(0, 10, false, 3), 10, false},
      {"int off grid", IntDistribution(0, 10, false, 3), 4, false},
      {"int below", IntDistribution(0, 10, false, 3), -3, false},
      {"int fractional", IntDistribution(0, 10), 3.5, false},
      {"categorical first", CategoricalDistribution({str("a"), str("b")}), 0, true},
      {"categorical last", CategoricalDistribution({str("a"), str("b")}), 1, true},
      {"categorical past end", CategoricalDistribution({str("a"), str("b")}), 2, false},
      {"categorical negative", CategoricalDistribution({str("a"), str("b")}), -1, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(contains(c.d, c.x), c.expected);
  }
}

TEST(DistributionSingle, MatchesOptuna) {
  struct Case {
    const char* name;
    Distribution d;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"float point", FloatDistribution(2.5, 2.5), true},
      {"float range", FloatDistribution(0, 1), false},
      {"float step wider than range", FloatDistribution(0, 0.29, false, 0.3), true},
      {"float two grid points", FloatDistribution(0.1, 0.2, false, 0.1), false},
      // Decimal: 0.3 - 0.1 == 0.2 is not < 0.2 (in binary 0.19999999999999998 would be).
      {"float two grid points, decimal", FloatDistribution(0.1, 0.3, false, 0.2), false},
      {"float log point", FloatDistribution(1, 1, true), true},
      {"int point", IntDistribution(5, 5), true},
      {"int step wider than range", IntDistribution(0, 1, false, 2), true},
      {"int two points", IntDistribution(1, 3, false, 2), false},
      {"int log point", IntDistribution(1, 1, true), true},
      {"int log range", IntDistribution(1, 2, true), false},
      {"categorical one", CategoricalDistribution({str("a")}), true},
      {"categorical two", CategoricalDistribution({str("a"), str("b")}), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_single(c.d), c.expected);
  }
}

// ---------------------------------------------------------------- internal <-> external

TEST(DistributionRepr, FloatAndIntConvertNumbers) {
  EXPECT_EQ(to_internal(FloatDistribution(0, 1), 0.25), 0.25);
  EXPECT_EQ(to_internal(FloatDistribution(0, 10), i64(3)), 3.0);
  EXPECT_EQ(to_internal(IntDistribution(0, 10), i64(7)), 7.0);
  EXPECT_EQ(to_internal(IntDistribution(0, 10), true), 1.0);
  EXPECT_EQ(to_external(FloatDistribution(0, 1), 0.25), ParamValue(0.25));
  EXPECT_EQ(to_external(IntDistribution(0, 10), 7.0), ParamValue(i64(7)));
}

TEST(DistributionRepr, IntExternalIsAnInt64) {
  ParamValue v = to_external(IntDistribution(-5, 5), -3.0);
  ASSERT_TRUE(std::holds_alternative<int64_t>(v));
  EXPECT_EQ(std::get<int64_t>(v), -3);
}

TEST(DistributionRepr, CategoricalRoundTripsEveryChoice) {
  CategoricalDistribution d({none(), true, false, i64(3), 2.5, str("adam")});
  for (size_t i = 0; i < d.choices.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(to_internal(d, d.choices[i]), static_cast<double>(i));
    EXPECT_EQ(to_external(d, static_cast<double>(i)), d.choices[i]);
  }
}

TEST(DistributionRepr, RejectsValuesOfTheWrongKindNamingTheField) {
  struct Case {
    const char* name;
    Distribution d;
    ParamValue value;
    const char* names;
  };
  const std::vector<Case> cases = {
      {"string for float", FloatDistribution(0, 1), str("abc"), "lr = \"abc\""},
      {"None for int", IntDistribution(0, 1), none(), "lr = \"None\""},
      {"NaN for float", FloatDistribution(0, 1), kNan, "lr = nan"},
      {"not a choice", CategoricalDistribution({str("a"), str("b")}), str("c"), "lr = \"c\""},
      {"int not a choice", CategoricalDistribution({i64(1), i64(2)}), i64(3), "lr = \"3\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(has_substr(invalid_message([&] { to_internal(c.d, c.value, "lr"); }), c.names));
  }
}

TEST(DistributionRepr, CategoricalIndexOutOfRangeThrows) {
  CategoricalDistribution d({str("a"), str("b")});
  EXPECT_THROW(to_external(d, 2.0), InvalidArgument);
  EXPECT_THROW(to_external(d, -1.0), InvalidArgument);
}

// ---------------------------------------------------------------- categorical index_of

TEST(CategoricalIndexOf, FindsEachKindOfChoice) {
  // Exact type first, then Python's == (True == 1 == 1.0); NaN matches NaN as in Optuna.
  CategoricalDistribution d({none(), true, i64(1), 2.5, str("a"), kNan});
  struct Case {
    const char* name;
    ParamValue value;
    int64_t expected;
  };
  const std::vector<Case> cases = {
      {"None", none(), 0},
      {"True", true, 1},
      {"int 1 (exact type beats True)", i64(1), 2},
      {"float 1.0 == True in Python", 1.0, 1},
      {"float 2.5", 2.5, 3},
      {"string", str("a"), 4},
      {"NaN", kNan, 5},
      {"missing string", str("b"), -1},
      {"missing int", i64(2), -1},
      {"False is not in choices", false, -1},
      {"int 0 is not in choices", i64(0), -1},
      {"string '1' is not the number 1", str("1"), -1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(d.index_of(c.value), c.expected);
  }
}

TEST(CategoricalIndexOf, NoneIsNotZeroOrEmptyString) {
  CategoricalDistribution d({i64(0), str(""), false});
  EXPECT_EQ(d.index_of(none()), -1);
}

// ---------------------------------------------------------------- JSON, byte for byte

// Generated once with Debian's Optuna 3.1 (NOT the pyenv python3 on PATH):
//   /usr/bin/python3 -c 'from optuna.distributions import *
//   for d in [FloatDistribution(0.0001, 0.1, log=True), ..., CategoricalDistribution([...])]:
//       print(distribution_to_json(d))'
// with exactly the distributions of the first column below.
struct Golden {
  Distribution distribution;
  const char* optuna_json;
};

const std::vector<Golden>& goldens() {
  static const std::vector<Golden> cases = {
      {FloatDistribution(0.0001, 0.1, true),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0001, "high": 0.1, "log": true}})"},
      {FloatDistribution(0, 1),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 1.0, "log": false}})"},
      {FloatDistribution(-5.5, 5.5),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": -5.5, "high": 5.5, "log": false}})"},
      {FloatDistribution(2.5, 2.5),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 2.5, "high": 2.5, "log": false}})"},
      {FloatDistribution(0, 1e16),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 1e+16, "log": false}})"},
      {FloatDistribution(1e-10, 1e10, true),
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 10000000000.0, "log": true}})"},
      {FloatDistribution(0, 1, false, 0.3),
       R"({"name": "FloatDistribution", "attributes": {"step": 0.3, "low": 0.0, "high": 0.9, "log": false}})"},
      {FloatDistribution(0.1, 1.0, false, 0.3),
       R"({"name": "FloatDistribution", "attributes": {"step": 0.3, "low": 0.1, "high": 1.0, "log": false}})"},
      {FloatDistribution(0, 1, false, 1.0 / 3.0),
       R"({"name": "FloatDistribution", "attributes": {"step": 0.3333333333333333, "low": 0.0, "high": 0.9999999999999999, "log": false}})"},
      {FloatDistribution(-1, 1, false, 0.25),
       R"({"name": "FloatDistribution", "attributes": {"step": 0.25, "low": -1.0, "high": 1.0, "log": false}})"},
      {FloatDistribution(0.1, 0.7, false, 0.2),
       R"({"name": "FloatDistribution", "attributes": {"step": 0.2, "low": 0.1, "high": 0.7, "log": false}})"},
      {FloatDistribution(1e-05, 0.00155, false, 1e-05),
       R"({"name": "FloatDistribution", "attributes": {"step": 1e-05, "low": 1e-05, "high": 0.00155, "log": false}})"},
      {FloatDistribution(0, 10, false, 3),
       R"({"name": "FloatDistribution", "attributes": {"step": 3.0, "low": 0.0, "high": 9.0, "log": false}})"},
      {IntDistribution(0, 10, false, 3),
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 3, "low": 0, "high": 9}})"},
      {IntDistribution(1, 1024, true),
       R"({"name": "IntDistribution", "attributes": {"log": true, "step": 1, "low": 1, "high": 1024}})"},
      {IntDistribution(-5, 5),
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": -5, "high": 5}})"},
      {IntDistribution(16, 512, false, 16),
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 16, "low": 16, "high": 512}})"},
      {IntDistribution(-(int64_t{1} << 40), int64_t{1} << 40),
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": -1099511627776, "high": 1099511627776}})"},
      {CategoricalDistribution({str("adam"), str("sgd"), str("rmsprop")}),
       R"({"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "sgd", "rmsprop"]}})"},
      {CategoricalDistribution({none(), true, false, i64(0), i64(1), 2.5, -1e-07, str("x")}),
       R"({"name": "CategoricalDistribution", "attributes": {"choices": [null, true, false, 0, 1, 2.5, -1e-07, "x"]}})"},
      {CategoricalDistribution({str("\u00e9"), str("\u65e5\u672c"), str("\U0001F600"),
                                str("a\"b\\c\nd\t/"), str("\x7f")}),
       R"({"name": "CategoricalDistribution", "attributes": {"choices": ["\u00e9", "\u65e5\u672c", "\ud83d\ude00", "a\"b\\c\nd\t/", "\u007f"]}})"},
      {CategoricalDistribution(
           {1.0, 1e100, 1e-05, i64(123456789012345678), 0.1, 1e16, 1e15, 123456.789}),
       R"({"name": "CategoricalDistribution", "attributes": {"choices": [1.0, 1e+100, 1e-05, 123456789012345678, 0.1, 1e+16, 1000000000000000.0, 123456.789]}})"},
      {CategoricalDistribution({kInf, -kInf}),
       R"({"name": "CategoricalDistribution", "attributes": {"choices": [Infinity, -Infinity]}})"},
  };
  return cases;
}

TEST(DistributionJson, WritesOptunasTextByteForByte) {
  for (const auto& g : goldens()) {
    EXPECT_EQ(distribution_to_json(g.distribution), g.optuna_json);
  }
}

TEST(DistributionJson, ReadsOptunasTextBackToTheSameDistribution) {
  for (const auto& g : goldens()) {
    SCOPED_TRACE(g.optuna_json);
    Distribution read = json_to_distribution(g.optuna_json);
    EXPECT_EQ(read, g.distribution);
    EXPECT_EQ(distribution_to_json(read), g.optuna_json);
  }
}

TEST(DistributionJson, NamesOptunasClasses) {
  EXPECT_EQ(distribution_name(FloatDistribution(0, 1)), "FloatDistribution");
  EXPECT_EQ(distribution_name(IntDistribution(0, 1)), "IntDistribution");
  EXPECT_EQ(distribution_name(CategoricalDistribution({none()})), "CategoricalDistribution");
}

// Pre-3.0 names. Left: distribution_to_json of the legacy class; right: of
// optuna.distributions._convert_old_distribution_to_new_distribution of it; both generated
// once with /usr/bin/python3 (Optuna 3.1), e.g.
//   /usr/bin/python3 -c 'from optuna.distributions import *; from optuna.distributions import
//   _convert_old_distribution_to_new_distribution as c; d = UniformDistribution(-1, 1);
//   print(distribution_to_json(d), distribution_to_json(c(d)))'
TEST(DistributionJson, ReadsLegacyNames) {
  struct Case {
    const char* legacy;
    const char* current;
  };
  const std::vector<Case> cases = {
      {R"({"name": "UniformDistribution", "attributes": {"low": -1.0, "high": 1.0}})",
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": -1.0, "high": 1.0, "log": false}})"},
      {R"({"name": "LogUniformDistribution", "attributes": {"low": 1e-05, "high": 1.0}})",
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 1.0, "log": true}})"},
      {R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 0.9, "q": 0.3}})",
       R"({"name": "FloatDistribution", "attributes": {"step": 0.3, "low": 0.0, "high": 0.9, "log": false}})"},
      {R"({"name": "IntUniformDistribution", "attributes": {"step": 3, "low": 0, "high": 9}})",
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 3, "low": 0, "high": 9}})"},
      {R"({"name": "IntLogUniformDistribution", "attributes": {"step": 1, "low": 1, "high": 100}})",
       R"({"name": "IntDistribution", "attributes": {"log": true, "step": 1, "low": 1, "high": 100}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.legacy);
    EXPECT_EQ(distribution_to_json(json_to_distribution(c.legacy)), c.current);
  }
}

TEST(DistributionJson, RejectsMalformedTextNamingTheField) {
  struct Case {
    const char* name;
    const char* json;
    const char* names;  // substring of the message
  };
  const std::vector<Case> cases = {
      {"empty", "", "trial_params.distribution_json = "},
      {"not JSON", "FloatDistribution(0, 1)", "trial_params.distribution_json = "},
      {"array", "[]", "trial_params.distribution_json = "},
      {"no name", R"({"attributes": {}})", "trial_params.distribution_json = "},
      {"name not a string", R"({"name": 3, "attributes": {}})", "trial_params.distribution_json"},
      {"no attributes", R"({"name": "FloatDistribution"})", "trial_params.distribution_json"},
      {"attributes not an object", R"({"name": "FloatDistribution", "attributes": []})",
       "trial_params.distribution_json"},
      {"unknown name", R"({"name": "NormalDistribution", "attributes": {}})", "NormalDistribution"},
      {"float low missing", R"({"name": "FloatDistribution", "attributes": {"high": 1.0}})",
       "attributes.low"},
      {"float low a string",
       R"({"name": "FloatDistribution", "attributes": {"low": "0", "high": 1.0}})",
       "attributes.low"},
      {"float low > high",
       R"({"name": "FloatDistribution", "attributes": {"step": null, "low": 2.0, "high": 1.0, "log": false}})",
       "low = 2"},
      {"float log with step",
       R"({"name": "FloatDistribution", "attributes": {"step": 0.1, "low": 1.0, "high": 2.0, "log": true}})",
       "step = 0.1"},
      {"int low fractional",
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0.5, "high": 3}})",
       "attributes.low"},
      {"int step beyond int64 (found by distribution_json_fuzz)",
       R"({"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 100, "step": 22222222222222222221}})",
       "range of int64"},
      {"int high beyond int64",
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": -1e19}})",
       "attributes.high"},
      {"int step 0",
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": 0, "low": 0, "high": 3}})",
       "step = 0"},
      {"int step a string",
       R"({"name": "IntDistribution", "attributes": {"log": false, "step": "2", "low": 0, "high": 3}})",
       "attributes.step"},
      {"categorical no choices", R"({"name": "CategoricalDistribution", "attributes": {}})",
       "attributes.choices"},
      {"categorical empty choices",
       R"({"name": "CategoricalDistribution", "attributes": {"choices": []}})", "choices = "},
      {"categorical object choice",
       R"({"name": "CategoricalDistribution", "attributes": {"choices": [{"a": 1}]}})",
       "attributes.choices"},
      {"legacy log uniform with low 0",
       R"({"name": "LogUniformDistribution", "attributes": {"low": 0.0, "high": 1.0}})", "low = 0"},
      {"legacy discrete uniform without q",
       R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0}})",
       "attributes.q"},
      // Optuna passes step on to IntDistribution(log=True, step=2), which refuses it.
      {"legacy int log uniform with step 2",
       R"({"name": "IntLogUniformDistribution", "attributes": {"step": 2, "low": 1, "high": 100}})",
       "step = 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(has_substr(
        invalid_message([&] { json_to_distribution(c.json, "trial_params.distribution_json"); }),
        c.names));
  }
}

// ---------------------------------------------------------------- check_compatible

TEST(DistributionCompatibility, AllowsRangeChangesAndEqualChoices) {
  struct Case {
    const char* name;
    Distribution existing, requested;
  };
  const std::vector<Case> cases = {
      {"float range moves", FloatDistribution(0, 1), FloatDistribution(-5, 5)},
      {"float step added", FloatDistribution(0, 1), FloatDistribution(0, 1, false, 0.1)},
      {"float log range moves", FloatDistribution(1e-5, 1, true),
       FloatDistribution(1e-3, 10, true)},
      {"int range and step", IntDistribution(0, 10), IntDistribution(2, 100, false, 2)},
      {"int log", IntDistribution(1, 10, true), IntDistribution(2, 64, true)},
      {"same choices", CategoricalDistribution({str("a"), i64(1)}),
       CategoricalDistribution({str("a"), i64(1)})},
      // Python: (1, 2) == (1.0, 2.0) and NaN choices compare equal (_categorical_choice_equal).
      {"int and float choices", CategoricalDistribution({i64(1), i64(2)}),
       CategoricalDistribution({1.0, 2.0})},
      {"NaN choice", CategoricalDistribution({kNan, str("x")}),
       CategoricalDistribution({kNan, str("x")})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NO_THROW(check_compatible("x", c.existing, c.requested));
  }
}

TEST(DistributionCompatibility, RefusesOtherKindLogOrChoicesNamingTheParameter) {
  struct Case {
    const char* name;
    Distribution existing, requested;
    const char* names;
  };
  const std::vector<Case> cases = {
      {"float then int", FloatDistribution(0, 1), IntDistribution(0, 1), "IntDistribution"},
      {"int then categorical", IntDistribution(0, 1), CategoricalDistribution({i64(0), i64(1)}),
       "CategoricalDistribution"},
      {"float log flips", FloatDistribution(1e-3, 1, true), FloatDistribution(1e-3, 1),
       "log = false"},
      {"int log flips", IntDistribution(1, 8), IntDistribution(1, 8, true), "log = true"},
      {"choice added", CategoricalDistribution({str("a")}),
       CategoricalDistribution({str("a"), str("b")}), "[\"a\", \"b\"]"},
      {"choices reordered", CategoricalDistribution({str("a"), str("b")}),
       CategoricalDistribution({str("b"), str("a")}), "[\"b\", \"a\"]"},
      {"choice changes type", CategoricalDistribution({str("1")}),
       CategoricalDistribution({i64(1)}), "[1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string message = invalid_message([&] { check_compatible("lr", c.existing, c.requested); });
    EXPECT_TRUE(has_substr(message, "parameter 'lr'"));
    EXPECT_TRUE(has_substr(message, c.names));
  }
}

}  // namespace
}  // namespace knob
