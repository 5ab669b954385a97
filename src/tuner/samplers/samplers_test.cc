// RandomSampler and GridSampler: reproducibility under a seed, domains, the shape of log
// sampling, and the grid visited exactly once — by one thread, by several, and by several
// processes sharing one SQLite file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"
#include "testing/sampler_testing.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::TempDir;

Study memory_study(std::shared_ptr<Sampler> sampler, const std::string& backend = "memory") {
  std::shared_ptr<Storage> storage;
  if (backend == "sqlite") {
    storage = std::make_shared<SqliteStorage>(":memory:");
  } else {
    storage = std::make_shared<InMemoryStorage>();
  }
  return create_study(StudyOptions()
                          .storage_instance(storage)
                          .study_name("samplers")
                          .sampler(std::move(sampler))
                          .pruner(std::make_shared<NopPruner>()));
}

// ------------------------------------------------------------------ RandomSampler

// A search space touching every kind of distribution.
double mixed_objective(Trial& t) {
  double x = t.suggest_float("x", -3.0, 3.0);
  double lr = t.suggest_float("lr", 1e-5, 1.0, {.log = true});
  double drop = t.suggest_float("drop", 0.0, 0.5, {.step = 0.05});
  int64_t layers = t.suggest_int("layers", 1, 8);
  int64_t batch = t.suggest_int("batch", 8, 1024, {.log = true});
  int64_t units = t.suggest_int("units", 16, 512, {.step = 16});
  auto opt = t.suggest_categorical<std::string>("opt", {"sgd", "adam", "adamw", "rmsprop"});
  return x + lr + drop + static_cast<double>(layers + batch + units) + (opt == "sgd" ? 1.0 : 0.0);
}

using testing::params_of;

TEST(RandomSampler, SameSeedSameTrialsOtherSeedOtherTrials) {
  Study a = memory_study(std::make_shared<RandomSampler>(42));
  Study b = memory_study(std::make_shared<RandomSampler>(42), "sqlite");
  Study c = memory_study(std::make_shared<RandomSampler>(43));
  for (Study* s : {&a, &b, &c}) s->optimize(mixed_objective, 25);
  ASSERT_EQ(params_of(a).size(), 25u);
  EXPECT_EQ(params_of(a), params_of(b));
  EXPECT_EQ(a.trials()[24].values, b.trials()[24].values);
  auto pa = params_of(a), pc = params_of(c);
  int same_x = 0;
  for (size_t i = 0; i < pa.size(); ++i) same_x += pa[i].at("x") == pc[i].at("x");
  EXPECT_EQ(same_x, 0);
}

TEST(RandomSampler, UnseededSamplersDiffer) {
  Study a = memory_study(std::make_shared<RandomSampler>());
  Study b = memory_study(std::make_shared<RandomSampler>());
  a.optimize(mixed_objective, 3);
  b.optimize(mixed_objective, 3);
  EXPECT_NE(params_of(a), params_of(b));
}

std::vector<std::pair<std::string, Distribution>> domain_table() {
  return {
      {"float", FloatDistribution(-2.0, 5.0)},
      {"float_log", FloatDistribution(1e-3, 1e3, true)},
      {"float_step", FloatDistribution(-1.0, 1.0, false, 0.1)},
      {"float_step_rounded", FloatDistribution(0.0, 1.0, false, 0.3)},  // high -> 0.9
      {"float_step_uneven", FloatDistribution(0.0, 1.0, false, 0.15)},  // high -> 0.9
      {"int", IntDistribution(-5, 5)},
      {"int_log", IntDistribution(1, 1000, true)},
      {"int_step", IntDistribution(-10, 10, false, 3)},  // -10, -7, ..., 8
      {"int_pair", IntDistribution(0, 1)},
      {"categorical", CategoricalDistribution({ParamValue(std::string("a")), ParamValue(int64_t{2}),
                                               ParamValue(0.5), ParamValue(false), ParamValue()})},
  };
}

TEST(RandomSampler, EverySuggestionLiesInItsDomain) {
  Study study = memory_study(std::make_shared<RandomSampler>(5));
  const auto table = domain_table();
  std::map<std::string, std::set<double>> seen;
  for (int i = 0; i < 300; ++i) {
    Trial trial = study.ask();
    for (const auto& [name, distribution] : table) trial.suggest(name, distribution);
    study.tell(trial, TrialState::kComplete, {0.0});
  }
  for (const auto& t : study.trials()) {
    for (const auto& [name, distribution] : table) {
      double internal = t.internal_params.at(name);
      EXPECT_TRUE(contains(distribution, internal)) << name << " = " << internal;
      EXPECT_EQ(t.distributions.at(name), distribution) << name;
      seen[name].insert(internal);
    }
  }
  // Small domains are covered, ends included.
  EXPECT_EQ(seen["int"].size(), 11u);
  EXPECT_EQ(seen["int_step"].size(), 7u);
  EXPECT_EQ(*seen["int_step"].rbegin(), 8.0);
  EXPECT_EQ(seen["int_pair"].size(), 2u);
  EXPECT_EQ(seen["categorical"].size(), 5u);
  EXPECT_EQ(seen["float_step_rounded"].size(), 4u);
  EXPECT_EQ(seen["float_step"].size(), 21u);
}

TEST(RandomSampler, SampleUniformlyStaysInsideManyDraws) {
  Rng rng(11);
  for (const auto& [name, distribution] : domain_table()) {
    for (int i = 0; i < 20000; ++i) {
      double x = sample_uniformly(rng, distribution);
      ASSERT_TRUE(contains(distribution, x)) << name << " drew " << x;
    }
  }
}

TEST(RandomSampler, LogSamplingIsUniformInLogSpace) {
  Rng rng(3);
  const FloatDistribution lr(1e-4, 1.0, true);
  const int n = 20000;
  std::vector<int> per_decade(4, 0);
  double mean_log10 = 0;
  for (int i = 0; i < n; ++i) {
    double x = sample_uniformly(rng, lr);
    double decade = std::log10(x);
    ++per_decade[std::min(3, static_cast<int>(std::floor(decade + 4)))];
    mean_log10 += decade / n;
  }
  // 5000 expected per decade; a binomial sd is ~61, so +-350 is far beyond chance.
  for (int d = 0; d < 4; ++d) {
    EXPECT_NEAR(per_decade[d], n / 4, 350) << "decade 1e" << d - 4;
  }
  EXPECT_NEAR(mean_log10, -2.0, 0.05);

  // Log ints: P(x <= 32) on [1, 1024] is ln(32.5/0.5)/ln(1024.5/0.5) = 0.5474 (each integer
  // owns [x-0.5, x+0.5] in log space, as in Optuna); a linear draw would give 0.031.
  const IntDistribution batch(1, 1024, true);
  int small = 0;
  for (int i = 0; i < n; ++i) small += sample_uniformly(rng, batch) <= 32.0;
  EXPECT_NEAR(static_cast<double>(small) / n, std::log(65.0) / std::log(2049.0), 0.02);
}

// ------------------------------------------------------------------ GridSampler

// The seed article's grid: 3 x 3 x 3 = 27 points.
GridSampler::SearchSpace article_grid() {
  return {{"lr", {0.001, 0.01, 0.1}}, {"batch_size", {32, 64, 128}}, {"epochs", {10, 20, 30}}};
}

double article_objective(Trial& t) {
  double lr = t.suggest_float("lr", 1e-3, 1e-1, {.log = true});
  int64_t batch = t.suggest_int("batch_size", 32, 128);
  int64_t epochs = t.suggest_int("epochs", 10, 30);
  return std::abs(std::log10(lr) + 2) + static_cast<double>(batch) / 64 +
         static_cast<double>(epochs) / 20;
}

using Point = std::tuple<double, int64_t, int64_t>;  // lr, batch_size, epochs

Point point_of(const FrozenTrial& t) {
  return {std::get<double>(t.param("lr")), std::get<int64_t>(t.param("batch_size")),
          std::get<int64_t>(t.param("epochs"))};
}

std::set<Point> all_article_points() {
  std::set<Point> out;
  for (double lr : {0.001, 0.01, 0.1}) {
    for (int64_t b : {32, 64, 128}) {
      for (int64_t e : {10, 20, 30}) out.insert({lr, b, e});
    }
  }
  return out;
}

// Every trial COMPLETE and the 27 grid points each exactly once.
void expect_grid_visited_once(const std::vector<FrozenTrial>& trials) {
  ASSERT_EQ(trials.size(), 27u);
  std::set<Point> points;
  std::set<int64_t> numbers;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
    if (t.state != TrialState::kComplete) continue;
    points.insert(point_of(t));
    numbers.insert(t.number);
  }
  EXPECT_EQ(points, all_article_points());
  EXPECT_EQ(numbers.size(), 27u);
}

TEST(GridSampler, PointsFollowOptunasProductOrder) {
  GridSampler grid(article_grid());
  ASSERT_EQ(grid.size(), 27u);
  // itertools.product over the sorted names (batch_size, epochs, lr): the last varies fastest.
  using M = std::map<std::string, ParamValue>;
  EXPECT_EQ(grid.point(0),
            (M{{"batch_size", int64_t{32}}, {"epochs", int64_t{10}}, {"lr", 0.001}}));
  EXPECT_EQ(grid.point(1), (M{{"batch_size", int64_t{32}}, {"epochs", int64_t{10}}, {"lr", 0.01}}));
  EXPECT_EQ(grid.point(3),
            (M{{"batch_size", int64_t{32}}, {"epochs", int64_t{20}}, {"lr", 0.001}}));
  EXPECT_EQ(grid.point(9),
            (M{{"batch_size", int64_t{64}}, {"epochs", int64_t{10}}, {"lr", 0.001}}));
  EXPECT_EQ(grid.point(26),
            (M{{"batch_size", int64_t{128}}, {"epochs", int64_t{30}}, {"lr", 0.1}}));
}

TEST(GridSampler, BadSearchSpaceThrowsNamingIt) {
  EXPECT_THROW(GridSampler(GridSampler::SearchSpace{}), InvalidArgument);
  try {
    GridSampler(GridSampler::SearchSpace{{"lr", {0.1}}, {"epochs", {}}});
    ADD_FAILURE() << "no throw";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("search_space.epochs"), std::string::npos) << e.what();
  }
}

TEST(GridSampler, OptimizeWithoutNTrialsVisitsEveryPointOnce) {
  for (const char* backend : {"memory", "sqlite"}) {
    SCOPED_TRACE(backend);
    Study study = memory_study(std::make_shared<GridSampler>(article_grid()), backend);
    // The timeout only guards against a grid that never reports itself exhausted.
    study.optimize(article_objective, OptimizeOptions().timeout(20));
    expect_grid_visited_once(study.trials());
    EXPECT_TRUE(study.sampler().is_exhausted(study));
    // A second call finds the grid used up and runs nothing.
    study.optimize(article_objective, OptimizeOptions().timeout(20));
    EXPECT_EQ(study.trials().size(), 27u);
  }
}

TEST(GridSampler, FourThreadsVisitEveryPointOnce) {
  for (const char* backend : {"memory", "sqlite"}) {
    SCOPED_TRACE(backend);
    Study study = memory_study(std::make_shared<GridSampler>(article_grid()), backend);
    study.optimize(
        [](Trial& t) {
          double v = article_objective(t);
          usleep(1000);
          return v;
        },
        OptimizeOptions().n_jobs(4).timeout(20));
    expect_grid_visited_once(study.trials());
  }
}

TEST(GridSampler, ThreeProcessesSharingOneSqliteFileVisitEveryPointOnce) {
  TempDir dir;
  const std::string url = "sqlite:///" + dir.file("grid.db");
  std::fflush(nullptr);
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      // The child: no storage or thread exists yet in it. Opens the file, runs the grid, exits.
      int code = 0;
      try {
        Study study = create_study(StudyOptions()
                                       .storage(url)
                                       .study_name("article-grid")
                                       .sampler(std::make_shared<GridSampler>(article_grid()))
                                       .pruner(std::make_shared<NopPruner>())
                                       .load_if_exists(true));
        study.optimize(
            [](Trial& t) {
              t.set_user_attr("pid", static_cast<int64_t>(getpid()));
              double v = article_objective(t);
              usleep(2000);
              return v;
            },
            OptimizeOptions().timeout(20));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", i, e.what());
        code = 1;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  Study study = load_study(StudyOptions().storage(url).study_name("article-grid"));
  auto trials = study.trials();
  expect_grid_visited_once(trials);
  EXPECT_EQ(study.trials({TrialState::kComplete}).size(), 27u);
  std::set<int64_t> pids;
  for (const auto& t : trials) pids.insert(t.user_attrs.at("pid").get<int64_t>());
  std::printf("[          ] grid trials ran in %zu of 3 processes\n", pids.size());
}

std::vector<int64_t> grid_ids_in_order(std::optional<uint64_t> seed) {
  Study study = memory_study(std::make_shared<GridSampler>(article_grid(), seed));
  study.optimize(article_objective, OptimizeOptions().timeout(20));
  std::vector<int64_t> ids;
  for (const auto& t : study.trials()) ids.push_back(t.system_attrs.at("grid_id").get<int64_t>());
  return ids;
}

TEST(GridSampler, OrderIsReproducibleUnderASeed) {
  auto first = grid_ids_in_order(7);
  ASSERT_EQ(first.size(), 27u);
  EXPECT_EQ(grid_ids_in_order(7), first);
  EXPECT_NE(grid_ids_in_order(8), first);
  std::vector<int64_t> identity(27);
  for (int64_t i = 0; i < 27; ++i) identity[i] = i;
  EXPECT_NE(first, identity) << "the seed does not shuffle the grid";
}

TEST(GridSampler, TrialsCarryOptunasSystemAttrs) {
  auto grid = std::make_shared<GridSampler>(article_grid(), 1);
  Study study = memory_study(grid, "sqlite");
  study.optimize(article_objective, OptimizeOptions().timeout(20));
  std::set<int64_t> ids;
  for (const auto& t : study.trials()) {
    ASSERT_TRUE(t.system_attrs.count("grid_id")) << "trial " << t.number;
    ASSERT_TRUE(t.system_attrs.count("search_space")) << "trial " << t.number;
    int64_t id = t.system_attrs.at("grid_id").get<int64_t>();
    ids.insert(id);
    EXPECT_EQ(dumps(t.system_attrs.at("search_space")),
              R"({"batch_size": [32, 64, 128], "epochs": [10, 20, 30], "lr": [0.001, 0.01, 0.1]})");
    EXPECT_EQ(t.params(), grid->point(static_cast<size_t>(id)));
  }
  EXPECT_EQ(ids.size(), 27u);
  EXPECT_EQ(*ids.begin(), 0);
  EXPECT_EQ(*ids.rbegin(), 26);
}

TEST(GridSampler, ParameterOutsideTheGridFailsTheTrialNamingIt) {
  Study study = memory_study(std::make_shared<GridSampler>(article_grid()));
  study.optimize(
      [](Trial& t) {
        double v = article_objective(t);
        return v + t.suggest_float("momentum", 0.0, 0.99);
      },
      OptimizeOptions().timeout(20));
  auto trials = study.trials();
  ASSERT_EQ(trials.size(), 27u);  // the grid is still used up: the study went on
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kFail);
    ASSERT_TRUE(t.system_attrs.count("fail_reason"));
    std::string reason = t.system_attrs.at("fail_reason").get<std::string>();
    EXPECT_NE(reason.find("momentum"), std::string::npos) << reason;
    EXPECT_NE(reason.find("batch_size, epochs, lr"), std::string::npos) << reason;
  }
}

TEST(GridSampler, AskAfterTheGridIsUsedUpGivesGridValues) {
  Study study = memory_study(std::make_shared<GridSampler>(article_grid()));
  study.optimize(article_objective, OptimizeOptions().timeout(20));
  ASSERT_EQ(study.trials().size(), 27u);
  Trial extra = study.ask();  // Optuna's GridSampler then samples from the grid at random
  EXPECT_EQ(extra.number(), 27);
  double lr = extra.suggest_float("lr", 1e-3, 1e-1, {.log = true});
  EXPECT_TRUE(lr == 0.001 || lr == 0.01 || lr == 0.1) << lr;
}

TEST(GridSampler, StringAndMixedValues) {
  GridSampler::SearchSpace space = {{"opt", {std::string("sgd"), std::string("adam")}},
                                    {"wd", {0.0, 1e-4}}};
  Study study = memory_study(std::make_shared<GridSampler>(space));
  study.optimize(
      [](Trial& t) {
        auto opt = t.suggest_categorical<std::string>("opt", {"sgd", "adam", "adamw"});
        double wd = t.suggest_categorical<double>("wd", {0.0, 1e-4, 1e-3});
        return (opt == "sgd" ? 1.0 : 2.0) + wd;
      },
      OptimizeOptions().timeout(20));
  std::set<std::pair<std::string, double>> seen;
  for (const auto& t : study.trials()) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    seen.insert({std::get<std::string>(t.param("opt")), std::get<double>(t.param("wd"))});
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(study.trials().size(), 4u);
}

}  // namespace
}  // namespace knob
