// QmcSampler: trial n takes Sobol' point n over the first finished trial's numeric
// parameters, every kind of distribution maps inside its bounds and evenly, categoricals and
// later parameters are sampled independently, same seed same trials, two samplers share one
// SQLite study, and malformed options.
#include "knob/tuner/samplers/qmc_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/study.h"
#include "testing/sampler_testing.h"
#include "testing/test_support.h"
#include "tuner/samplers/qmc/sobol.h"
#include "tuner/samplers/qmc/sobol_golden.h"

namespace knob {
namespace {

using testing::study_with;

QmcOptions quiet() { return QmcOptions().warn_independent_sampling(false); }

double xy(Trial& t) {
  const double x = t.suggest_float("x", 0, 1);
  const double y = t.suggest_float("y", 0, 1);
  return x + y;
}

std::vector<std::map<std::string, ParamValue>> params_of(Study& study) {
  std::vector<std::map<std::string, ParamValue>> out;
  for (const auto& t : study.trials()) out.push_back(t.params());
  return out;
}

TEST(QmcSampler, TrialNTakesUnscrambledPointNLikeScipy) {
  auto study = study_with(std::make_shared<QmcSampler>(quiet().scramble(false).seed(1)));
  study.optimize(xy, 40);
  for (const auto& t : study.trials()) {
    if (t.number == 0) continue;  // nothing finished yet: sampled independently
    const std::string hex(golden::kSobolPointsHex[t.number], 4);
    EXPECT_EQ(std::get<double>(t.param("x")), std::stoi(hex.substr(0, 2), nullptr, 16) / 256.0);
    EXPECT_EQ(std::get<double>(t.param("y")), std::stoi(hex.substr(2, 2), nullptr, 16) / 256.0);
  }
}

TEST(QmcSampler, MapsTheUnitIntervalAsOptunaDoes) {
  struct Row {
    Distribution distribution;
    double u, expected;
  };
  const std::vector<Row> rows = {
      {FloatDistribution(-1, 3), 0.25, 0.0},
      {FloatDistribution(-1, 3), 1.0, std::nextafter(3.0, 0.0)},  // never high
      {FloatDistribution(1e-4, 1, true), 0.5, 1e-2},
      {FloatDistribution(0, 1, false, 0.25), 0.0, 0.0},   // from -0.125, rounds to 0
      {FloatDistribution(0, 1, false, 0.25), 0.55, 0.5},  // 0.5375
      {FloatDistribution(0, 1, false, 0.25), 0.999, 1.0},
      {IntDistribution(1, 10), 0.0, 1},
      {IntDistribution(1, 10), 0.999, 10},
      {IntDistribution(1, 10), 0.5, 5},  // 1 + 4.5, rounded half to even as numpy does
      {IntDistribution(0, 10, false, 5), 0.5, 5},
      {IntDistribution(1, 100, true), 0.5, 7},  // sqrt(0.5 * 100.5) = 7.09
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(distribution_to_json(row.distribution) + " u=" + std::to_string(row.u));
    EXPECT_NEAR(from_unit_interval(row.distribution, row.u), row.expected, 1e-12);
  }
}

TEST(QmcSampler, EveryKindOfDistributionStaysInBoundsAndEven) {
  auto study = study_with(std::make_shared<QmcSampler>(quiet().seed(3)));
  std::map<int64_t, int> ints;
  study.optimize(
      [&](Trial& t) {
        double v = t.suggest_float("f", -2, 2) + t.suggest_float("flog", 1e-5, 1e-1, {.log = true});
        v += t.suggest_float("fstep", 0, 1, {.step = 0.1});
        v += static_cast<double>(t.suggest_int("i", 1, 4) +
                                 t.suggest_int("istep", 0, 20, {.step = 4}));
        v += static_cast<double>(t.suggest_int("ilog", 1, 1000, {.log = true}));
        v += t.suggest_categorical<std::string>("c", {"a", "b", "c"}) == "a";
        return v;
      },
      65);
  for (const auto& t : study.trials()) {
    ASSERT_EQ(t.state, TrialState::kComplete);
    EXPECT_EQ(t.internal_params.size(), 7u);
    for (const auto& [name, value] : t.internal_params) {
      EXPECT_TRUE(contains(t.distributions.at(name), value)) << name << " = " << value;
    }
    if (t.number >= 1) ++ints[std::get<int64_t>(t.param("i"))];
  }
  // Trials 1..64 are 64 consecutive Sobol' points but for point 0 and 64: 16 of each
  // value, give or take one.
  ASSERT_EQ(ints.size(), 4u);
  for (const auto& [value, count] : ints) EXPECT_NEAR(count, 16, 1) << value;
}

TEST(QmcSampler, CategoricalsAndLaterParametersAreSampledIndependently) {
  auto sampler = std::make_shared<QmcSampler>(quiet().seed(1));
  auto study = study_with(sampler);
  study.optimize(
      [](Trial& t) {
        double v = t.suggest_float("x", 0, 1);
        v += t.suggest_categorical<std::string>("c", {"a", "b"}) == "a";
        if (t.number() > 0) v += t.suggest_float("late", 0, 1);
        return v;
      },
      5);
  Trial t = study.ask();
  auto space = sampler->infer_relative_search_space(study, study.storage().trial(t.trial_id()));
  ASSERT_EQ(space.size(), 1u);
  EXPECT_TRUE(space.count("x"));
  for (const auto& f : study.trials({TrialState::kComplete}))
    EXPECT_EQ(f.params().size(), f.number > 0 ? 3u : 2u);
}

TEST(QmcSampler, SameSeedSameTrialsOtherSeedOtherTrials) {
  for (bool scramble : {true, false}) {
    SCOPED_TRACE(scramble);
    auto a = study_with(std::make_shared<QmcSampler>(quiet().seed(5).scramble(scramble)));
    auto b = study_with(std::make_shared<QmcSampler>(quiet().seed(5).scramble(scramble)));
    auto c = study_with(std::make_shared<QmcSampler>(quiet().seed(6).scramble(scramble)));
    a.optimize(xy, 10), b.optimize(xy, 10), c.optimize(xy, 10);
    EXPECT_EQ(params_of(a), params_of(b));
    // Other seed: other trial 0 (random) and, scrambled, other points.
    auto pa = params_of(a), pc = params_of(c);
    EXPECT_NE(pa[0], pc[0]);
    if (scramble) {
      EXPECT_NE(pa[5], pc[5]);
    } else {
      EXPECT_EQ(pa[5], pc[5]);
    }
  }
}

TEST(QmcSampler, TwoSamplersShareOneSqliteStudy) {
  // Like two processes with the same seed: together they walk one sequence, point = trial number.
  testing::TempDir dir;
  const std::string path = dir.file("shared.db");
  auto a = study_with(std::make_shared<QmcSampler>(quiet().seed(9)),
                      std::make_shared<SqliteStorage>(path), "shared");
  auto b = study_with(std::make_shared<QmcSampler>(quiet().seed(9)),
                      std::make_shared<SqliteStorage>(path), "shared");
  for (int i = 0; i < 8; ++i) a.optimize(xy, 2), b.optimize(xy, 2);
  Rng rng(9);
  detail::SobolSequence sobol(2, &rng);
  const auto trials = a.trials();
  ASSERT_EQ(trials.size(), 32u);
  for (const auto& t : trials) {
    if (t.number == 0) continue;
    const auto u = sobol.point(static_cast<uint64_t>(t.number));
    EXPECT_EQ(std::get<double>(t.param("x")), u[0]) << t.number;
    EXPECT_EQ(std::get<double>(t.param("y")), u[1]) << t.number;
  }
}

// ------------------------------------------------------------------ malformed options

TEST(QmcSamplerMalformed, OptionsNameTheFieldAndWhatIsAllowed) {
  struct Row {
    QmcOptions options;
    const char* field;
    const char* allowed;
  };
  const std::vector<Row> rows = {
      {QmcOptions().qmc_type("halton"), "qmc_type", "sobol"},
      {QmcOptions().qmc_type(""), "qmc_type", "sobol"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.options.qmc_type());
    try {
      QmcSampler sampler(row.options);
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      testing::expect_contains(e.what(), {row.field, row.allowed});
    }
  }
}

}  // namespace
}  // namespace knob
