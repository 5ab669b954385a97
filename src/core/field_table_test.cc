#include "knob/core/field_table.h"

#include <gtest/gtest.h>

#include <cmath>

#include "knob/core/arg.h"
#include "testing/test_support.h"

namespace knob {
namespace {

// Options in the style of the samplers' (KNOB_ARG setters) and plain members.
struct Options {
  KNOB_ARG(int, count) = 10;
  KNOB_ARG(double, weight) = 1.0;

 public:
  bool flag = false;
  int64_t steps = 0;
  uint64_t seed = 0;
  std::string mode = "a";
  std::optional<double> budget;
  std::optional<int64_t> resource = 1;  // "auto": unset
  std::vector<int64_t> milestones;
  std::vector<std::string> phases;
  struct {
    double lr = 0.1;
  } inner;
};

FieldTable<Options> table() {
  FieldTable<Options> t("study.opts", "{ count = 3 }");
  t.add("count", &Options::count, Rule().at_least(1))
      .add("weight", &Options::weight, Rule().above(0))
      .add("flag", &Options::flag)
      .add("steps", &Options::steps, Rule().integral_floats())
      .add("seed", &Options::seed)
      .add("mode", &Options::mode)
      .add("budget", &Options::budget, Rule().above(0).unit("MiB"))
      .add("resource", &Options::resource, Rule().or_word("auto"))
      .add("milestones", &Options::milestones)
      .add("phases", &Options::phases)
      .add(
          "lr", [](auto& o) -> auto& { return o.inner.lr; });
  return t;
}

Options read(const std::string& toml) {
  Options o;
  table().read(parse_toml(toml, "t.toml"), o);
  return o;
}

TEST(FieldTableTest, ReadsEveryTypeOfField) {
  Options o = read(
      "count = 3\nweight = 2\nflag = true\nsteps = 4.0\nseed = 7\nmode = \"b\"\nbudget = 1.5\n"
      "resource = \"auto\"\nmilestones = [2, 5]\nphases = \"cosine\"\nlr = 1\n");
  EXPECT_EQ(o.count(), 3);
  EXPECT_EQ(o.weight(), 2.0);  // integers widen to numbers
  EXPECT_TRUE(o.flag);
  EXPECT_EQ(o.steps, 4);  // integral floats narrow where the rule allows
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.mode, "b");
  EXPECT_EQ(o.budget, 1.5);
  EXPECT_EQ(o.resource, std::nullopt);  // the word
  EXPECT_EQ(o.milestones, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(o.phases, std::vector<std::string>{"cosine"});  // a single value: a list of one
  EXPECT_EQ(o.inner.lr, 1.0);
  EXPECT_EQ(read("resource = 3\n").resource, 3);
  EXPECT_EQ(read("milestones = 3\n").milestones, std::vector<int64_t>{3});
  EXPECT_TRUE(read("phases = []\n").phases.empty());
  Options defaults = read("");
  EXPECT_EQ(defaults.count(), 10);
  EXPECT_EQ(defaults.resource, 1);
}

TEST(FieldTableTest, GetsAndSetsOneKey) {
  Options o;
  FieldTable<Options> t = table();
  t.set(o, "steps", int64_t{12});
  EXPECT_EQ(*t.get(o, "steps").as<int64_t>(), 12);
  EXPECT_TRUE(std::isnan(*t.get(o, "budget").as<double>()));  // unset
  EXPECT_EQ(t.get(o, "phases"), TomlValue(TomlValue::Array{}));
  EXPECT_EQ(t.keys().front(), "count");
  EXPECT_TRUE(t.contains("lr"));
  EXPECT_FALSE(t.contains("gamma"));
  EXPECT_EQ(t.field("lr"), "study.opts.lr");
}

TEST(FieldTableTest, MalformedInputIsNamed) {
  struct Case {
    std::string name, toml;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"unknown key",
       "gamma = 0.1\n",
       {"study.opts.gamma = 0.1: is unknown; study.opts takes count, weight, flag, steps"}},
      {"bool as string", "flag = \"yes\"\n", {"study.opts.flag = \"yes\": must be true or false"}},
      {"bool as number", "flag = 1\n", {"study.opts.flag = 1: must be true or false"}},
      {"int as float", "count = 2.5\n", {"study.opts.count = 2.5: must be an integer >= 1"}},
      {"exact int only", "count = 2.0\n", {"study.opts.count = 2.0", "integer"}},
      {"int out of int range", "count = 3000000000\n", {"study.opts.count", "integer"}},
      {"int below bound", "count = 0\n", {"study.opts.count = 0: must be >= 1"}},
      {"fractional integral float", "steps = 4.5\n", {"study.opts.steps = 4.5", "integer"}},
      {"negative unsigned", "seed = -1\n", {"study.opts.seed = -1: must be >= 0"}},
      {"unsigned type", "seed = \"x\"\n", {"study.opts.seed = \"x\": must be an integer >= 0"}},
      {"number as text",
       "weight = \"heavy\"\n",
       {"study.opts.weight = \"heavy\": must be a number > 0"}},
      {"number at open bound", "weight = 0\n", {"study.opts.weight = 0: must be > 0"}},
      {"unit", "budget = -1.5\n", {"study.opts.budget = -1.5: must be > 0 MiB"}},
      {"string as number", "mode = 3\n", {"study.opts.mode = 3: must be a string"}},
      {"word or integer",
       "resource = \"lots\"\n",
       {"study.opts.resource = \"lots\": must be an integer or \"auto\""}},
      {"list of integers",
       "milestones = [1, \"a\"]\n",
       {"study.opts.milestones = [1, \"a\"]: must be a list of integers"}},
      {"list of strings",
       "phases = [\"a\", 1]\n",
       {"study.opts.phases = [\"a\", 1]: must be a list of strings"}},
      {"table for a number", "lr = { a = 1 }\n", {"study.opts.lr = { a = 1 }: must be a number"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { read(c.toml); }, c.fragments);
  }
  Options o;
  testing::expect_invalid("not a table", [&] { table().read(TomlValue(true), o); },
                          {"study.opts = true: must be a table such as { count = 3 }"});
  testing::expect_invalid("unknown key read back", [&] { table().get(o, "gamma"); },
                          {"study.opts.gamma", "unknown"});
}

TEST(FieldTableTest, DottedKeyListsAndTheOrigin) {
  FieldTable<Options> t("optimizer", "", KeyNames::kDotted);
  t.add(
       "lr", [](auto& o) -> auto& { return o.inner.lr; })
      .add("mode", &Options::mode);
  Options o;
  testing::expect_invalid(
      "dotted",
      [&] {
        naming_origin("bad.toml", "optimizer",
                      [&] { t.read(parse_toml("learning_rate = 0.1", "bad.toml"), o); });
      },
      {"optimizer.learning_rate = 0.1: is unknown; optimizer takes optimizer.lr, optimizer.mode "
       "(in [optimizer] of bad.toml)"});
  testing::expect_invalid("file only",
                          [&] { naming_origin("s.toml", "", [&] { t.set(o, "mode", true); }); },
                          {"optimizer.mode = true: must be a string (in s.toml)"});
  EXPECT_EQ(naming_origin("s.toml", "", [] { return 3; }), 3);
}

// A misspelled table or a top-level key is refused, naming it, the file and the nearest table.
TEST(FieldTableTest, UnknownTablesAreRefusedWithTheNearestName) {
  const std::vector<std::string> tables = {"study", "search", "objective", "optimizer", "data"};
  struct Case {
    std::string name, toml;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"transposed letters",
       "[serach]\nlr = 1\n",
       {"[serach] (in s.toml): is unknown; did you mean [search]?", "[study], [search]"}},
      {"british spelling", "[optimiser]\nlr = 1\n", {"[optimiser]", "did you mean [optimizer]?"}},
      {"top-level key", "epochs = 3\n", {"epochs = 3 (in s.toml): is unknown", "top-level keys"}},
      {"nothing near", "[zzzzzzzz]\n", {"[zzzzzzzz] (in s.toml): is unknown; a config file"}},
      {"case differs", "[Study]\n", {"[Study]", "did you mean [study]?"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { check_table_names(parse_toml(c.toml, "s.toml"), tables, "s.toml"); },
        c.fragments);
  }
  EXPECT_NO_THROW(check_table_names(parse_toml("[study]\n[data]\n", "s.toml"), tables, "s.toml"));
  EXPECT_EQ(nearest_name("serach", tables), "search");
  EXPECT_EQ(nearest_name("zzzzzzzz", tables), "");
  EXPECT_EQ(nearest_name("dat", tables), "data");
}

TEST(FieldTableTest, UnknownKeySuggestsTheNearestKey) {
  testing::expect_invalid("misspelled key", [&] { read("wieght = 2\n"); },
                          {"study.opts.wieght = 2: is unknown; did you mean weight?"});
}

}  // namespace
}  // namespace knob
