// The Storage contract, run against every backend: InMemoryStorage,
// SqliteStorage(":memory:") and, when KNOB_TEST_POSTGRES_URL names a server
// (scripts/pg_test_server), PostgresStorage on a fresh database per test. Each test checks one
// behaviour; malformed input has its own tables.
#include "knob/storage/storage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/postgres_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "knob/storage/trial_cache.h"
#include "postgres_test_support.h"
#include "testing/test_support.h"

namespace knob {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNan = std::nan("");
constexpr auto kMin = StudyDirection::kMinimize;
constexpr auto kMax = StudyDirection::kMaximize;

// Opens another connection to one database (the same object for InMemory).
using Connect = std::function<std::shared_ptr<Storage>()>;

struct Backend {
  const char* name;
  std::function<std::unique_ptr<Storage>()> make;
  // A fresh database that many connections share (tests of processes racing).
  std::function<Connect()> shared_database;
};

// A fresh SQLite file, removed when the last connection to it is gone.
Connect shared_sqlite_file() {
  auto dir = std::make_shared<testing::TempDir>();
  return [dir]() -> std::shared_ptr<Storage> {
    return std::shared_ptr<Storage>(new SqliteStorage(dir->file("shared.db")),
                                    [dir](Storage* storage) { delete storage; });
  };
}

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class StorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { storage_ = GetParam().make(); }

  Storage& storage() { return *storage_; }
  int64_t new_study(const std::string& name = "study",
                    std::vector<StudyDirection> directions = {kMin}) {
    return storage_->create_study(name, directions);
  }
  // A trial moved to `state` (COMPLETE with `value`).
  int64_t finished_trial(int64_t study, TrialState state, double value = 0.0) {
    int64_t id = storage_->create_trial(study);
    std::vector<double> values;
    if (state == TrialState::kComplete) values = {value};
    EXPECT_TRUE(storage_->set_trial_state_values(id, state, values));
    return id;
  }

  std::unique_ptr<Storage> storage_;
};

INSTANTIATE_TEST_SUITE_P(
    Backends, StorageTest,
    ::testing::Values(Backend{"InMemory", [] { return std::make_unique<InMemoryStorage>(); },
                              []() -> Connect {
                                auto storage = std::make_shared<InMemoryStorage>();
                                return [storage] { return storage; };
                              }},
                      Backend{"Sqlite", [] { return std::make_unique<SqliteStorage>(":memory:"); },
                              shared_sqlite_file}),
    [](const ::testing::TestParamInfo<Backend>& info) { return std::string(info.param.name); });

std::vector<Backend> postgres_backends() {
  auto server = testing::postgres_test_url();
  if (!server) return {};
  return {Backend{"Postgres",
                  [server] {
                    return std::make_unique<PostgresStorage>(
                        testing::fresh_postgres_database(*server));
                  },
                  [server]() -> Connect {
                    std::string url = testing::fresh_postgres_database(*server);
                    return [url] { return std::make_shared<PostgresStorage>(url); };
                  }}};
}

INSTANTIATE_TEST_SUITE_P(Server, StorageTest, ::testing::ValuesIn(postgres_backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

// The microsecond a storage can keep (SQLite stores text with microseconds).
TimePoint to_micros(TimePoint t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

// Compares JSON values by their text, so NaN equals NaN.
std::map<std::string, std::string> texts(const std::map<std::string, Json>& attrs) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : attrs) out[key] = dumps(value);
  return out;
}

// ---------------------------------------------------------------- studies

TEST_P(StorageTest, CreatedStudyIsFoundByNameAndId) {
  int64_t id = new_study("lr-search");
  EXPECT_EQ(storage().study_id_from_name("lr-search"), id);
  EXPECT_EQ(storage().study_name_from_id(id), "lr-search");
}

TEST_P(StorageTest, TrialIdFromNumberFindsEachTrialOfItsStudy) {
  int64_t a = new_study("a");
  int64_t b = new_study("b");
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(storage().create_trial(a));
    storage().create_trial(b);  // interleaved: numbers are per study
  }
  for (int64_t number = 0; number < 3; ++number) {
    EXPECT_EQ(storage().trial_id_from_number(a, number), ids[static_cast<size_t>(number)]);
  }
  EXPECT_THROW(storage().trial_id_from_number(a, 3), NotFound);
  EXPECT_THROW(storage().trial_id_from_number(a, -1), NotFound);
}

TEST_P(StorageTest, StudiesGetDistinctIds) {
  int64_t a = new_study("a"), b = new_study("b");
  EXPECT_NE(a, b);
}

TEST_P(StorageTest, DuplicateStudyNameIsAlreadyExists) {
  new_study("dup");
  EXPECT_THROW(new_study("dup"), AlreadyExists);
  EXPECT_EQ(storage().all_studies().size(), 1u);
}

TEST_P(StorageTest, MalformedStudiesAreInvalidArgument) {
  struct Case {
    const char* name;
    std::string study_name;
    std::vector<StudyDirection> directions;
  };
  const std::vector<Case> cases = {
      {"empty name", "", {kMin}},
      {"no directions", "s", {}},
      {"NOT_SET direction", "s", {StudyDirection::kNotSet}},
      {"NOT_SET second direction", "s", {kMin, StudyDirection::kNotSet}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROW(storage().create_study(c.study_name, c.directions), InvalidArgument);
  }
  EXPECT_TRUE(storage().all_studies().empty());
}

TEST_P(StorageTest, DirectionsRoundTrip) {
  int64_t single = new_study("single", {kMax});
  int64_t multi = new_study("multi", {kMin, kMax, kMin});
  EXPECT_EQ(storage().study_directions(single), std::vector<StudyDirection>({kMax}));
  EXPECT_EQ(storage().study_directions(multi), std::vector<StudyDirection>({kMin, kMax, kMin}));
}

TEST_P(StorageTest, UnknownStudyOrTrialIsNotFound) {
  int64_t real = new_study("real");
  int64_t real_trial = storage().create_trial(real);
  const int64_t bad = real + 1000, bad_trial = real_trial + 1000;
  const FloatDistribution d(0, 1);
  struct Case {
    const char* name;
    std::function<void()> call;
  };
  const std::vector<Case> cases = {
      {"study_id_from_name", [&] { storage().study_id_from_name("nope"); }},
      {"study_name_from_id", [&] { storage().study_name_from_id(bad); }},
      {"study_directions", [&] { storage().study_directions(bad); }},
      {"delete_study", [&] { storage().delete_study(bad); }},
      {"set_study_user_attr", [&] { storage().set_study_user_attr(bad, "k", 1); }},
      {"set_study_system_attr", [&] { storage().set_study_system_attr(bad, "k", 1); }},
      {"study_user_attrs", [&] { storage().study_user_attrs(bad); }},
      {"study_system_attrs", [&] { storage().study_system_attrs(bad); }},
      {"create_trial", [&] { storage().create_trial(bad); }},
      {"create_trials_once", [&] { storage().create_trials_once(bad, "k", {}); }},
      {"claim_waiting_trial", [&] { storage().claim_waiting_trial(bad); }},
      {"trials", [&] { storage().trials(bad); }},
      {"n_trials", [&] { storage().n_trials(bad); }},
      {"trial", [&] { storage().trial(bad_trial); }},
      {"set_trial_param", [&] { storage().set_trial_param(bad_trial, "x", 0.5, d); }},
      {"set_trial_state_values",
       [&] { storage().set_trial_state_values(bad_trial, TrialState::kComplete, {1.0}); }},
      {"set_trial_intermediate_value",
       [&] { storage().set_trial_intermediate_value(bad_trial, 0, 1.0); }},
      {"set_trial_user_attr", [&] { storage().set_trial_user_attr(bad_trial, "k", 1); }},
      {"set_trial_system_attr", [&] { storage().set_trial_system_attr(bad_trial, "k", 1); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROW(c.call(), NotFound);
  }
}

TEST_P(StorageTest, NotFoundMessageNamesTheStudy) {
  try {
    storage().study_id_from_name("missing-study");
    FAIL() << "no exception";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("missing-study"), std::string::npos) << e.what();
  }
}

TEST_P(StorageTest, DeleteStudyRemovesItAndOnlyItsTrials) {
  int64_t doomed = new_study("doomed"), kept = new_study("kept");
  int64_t doomed_trial = storage().create_trial(doomed);
  storage().set_trial_param(doomed_trial, "x", 0.5, FloatDistribution(0, 1));
  storage().set_trial_intermediate_value(doomed_trial, 0, 1.0);
  storage().set_trial_user_attr(doomed_trial, "k", "v");
  int64_t kept_trial = storage().create_trial(kept);
  storage().set_trial_param(kept_trial, "x", 0.25, FloatDistribution(0, 1));

  storage().delete_study(doomed);

  EXPECT_THROW(storage().study_id_from_name("doomed"), NotFound);
  EXPECT_THROW(storage().trial(doomed_trial), NotFound);
  EXPECT_EQ(storage().n_trials(kept), 1);
  EXPECT_EQ(storage().trial(kept_trial).internal_params.at("x"), 0.25);
  ASSERT_EQ(storage().all_studies().size(), 1u);
  EXPECT_EQ(storage().all_studies()[0].study_name, "kept");
}

TEST_P(StorageTest, DeletedNameCanBeReusedWithFreshTrials) {
  int64_t first = new_study("again");
  storage().create_trial(first);
  storage().delete_study(first);
  int64_t second = new_study("again");
  EXPECT_EQ(storage().n_trials(second), 0);
  EXPECT_EQ(storage().trial(storage().create_trial(second)).number, 0);
}

TEST_P(StorageTest, AllStudiesListsEveryStudyInCreationOrder) {
  for (const char* name : {"c", "a", "b"}) new_study(name);
  std::vector<std::string> names;
  for (const auto& s : storage().all_studies()) names.push_back(s.study_name);
  EXPECT_EQ(names, std::vector<std::string>({"c", "a", "b"}));
}

// study_names: what all_studies lists (ids and names, in creation order), without the trials.
TEST_P(StorageTest, StudyNamesListEveryStudyInCreationOrder) {
  EXPECT_TRUE(storage().study_names().empty());
  std::vector<std::pair<int64_t, std::string>> made;
  for (const char* name : {"c", "a", "b"}) made.emplace_back(new_study(name), name);
  storage().create_trial(made[1].first);
  EXPECT_EQ(storage().study_names(), made);
  storage().delete_study(made[0].first);
  made.erase(made.begin());
  EXPECT_EQ(storage().study_names(), made);
}

// ---------------------------------------------------------------- study attributes

const std::vector<std::pair<std::string, Json>>& attr_values() {
  static const std::vector<std::pair<std::string, Json>> values = {
      {"int", 3},
      {"negative", -9007199254740993},
      {"float", 0.1},
      {"string", "adam"},
      {"unicode", "\u00e9\u65e5\U0001F600"},
      {"bool", true},
      {"null", nullptr},
      {"array", Json::array({1, "two", 3.5, nullptr})},
      {"object", Json::object({{"z", 1}, {"a", Json::array({true})}})},
      {"nan", kNan},
      {"inf", Json::array({kInf, -kInf})},
  };
  return values;
}

TEST_P(StorageTest, StudyUserAttrsRoundTripJson) {
  int64_t id = new_study();
  std::map<std::string, std::string> expected;
  for (const auto& [key, value] : attr_values()) {
    storage().set_study_user_attr(id, key, value);
    expected[key] = dumps(value);
  }
  EXPECT_EQ(texts(storage().study_user_attrs(id)), expected);
}

TEST_P(StorageTest, StudySystemAttrsAreSeparateFromUserAttrs) {
  int64_t id = new_study();
  storage().set_study_user_attr(id, "k", "user");
  storage().set_study_system_attr(id, "k", "system");
  storage().set_study_system_attr(id, "only_system", 1);
  EXPECT_EQ(texts(storage().study_user_attrs(id)),
            (std::map<std::string, std::string>{{"k", "\"user\""}}));
  EXPECT_EQ(texts(storage().study_system_attrs(id)),
            (std::map<std::string, std::string>{{"k", "\"system\""}, {"only_system", "1"}}));
}

TEST_P(StorageTest, SettingAnAttrAgainOverwritesIt) {
  int64_t id = new_study();
  storage().set_study_user_attr(id, "k", 1);
  storage().set_study_user_attr(id, "k", Json::array({2}));
  EXPECT_EQ(dumps(storage().study_user_attrs(id).at("k")), "[2]");
}

TEST_P(StorageTest, AttrsBelongToTheirStudy) {
  int64_t a = new_study("a"), b = new_study("b");
  storage().set_study_user_attr(a, "k", 1);
  EXPECT_TRUE(storage().study_user_attrs(b).empty());
}

// ---------------------------------------------------------------- trial creation

TEST_P(StorageTest, TrialNumbersCountFromZeroPerStudy) {
  int64_t a = new_study("a"), b = new_study("b");
  std::vector<int64_t> a_numbers, b_numbers;
  for (int i = 0; i < 4; ++i) {
    a_numbers.push_back(storage().trial(storage().create_trial(a)).number);
    if (i % 2 == 0) b_numbers.push_back(storage().trial(storage().create_trial(b)).number);
  }
  EXPECT_EQ(a_numbers, std::vector<int64_t>({0, 1, 2, 3}));
  EXPECT_EQ(b_numbers, std::vector<int64_t>({0, 1}));
}

TEST_P(StorageTest, NewTrialIsRunningEmptyAndStarted) {
  TimePoint before = to_micros(now());
  int64_t id = storage().create_trial(new_study());
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.trial_id, id);
  EXPECT_EQ(t.state, TrialState::kRunning);
  ASSERT_TRUE(t.datetime_start.has_value());
  EXPECT_GE(*t.datetime_start, before);
  EXPECT_FALSE(t.datetime_complete.has_value());
  EXPECT_TRUE(t.values.empty());
  EXPECT_TRUE(t.internal_params.empty());
  EXPECT_TRUE(t.intermediate_values.empty());
  EXPECT_TRUE(t.user_attrs.empty());
}

TEST_P(StorageTest, WaitingTemplateKeepsFixedParamsAndHasNoStart) {
  int64_t study = new_study();
  FrozenTrial templ;
  templ.state = TrialState::kWaiting;
  templ.internal_params = {{"lr", 0.01}, {"opt", 1.0}};
  templ.distributions = {
      {"lr", FloatDistribution(1e-4, 1, true)},
      {"opt", CategoricalDistribution({std::string("sgd"), std::string("adam")})}};
  templ.system_attrs = {{"fixed_params", Json::object({{"lr", 0.01}, {"opt", "adam"}})}};
  FrozenTrial t = storage().trial(storage().create_trial(study, &templ));
  EXPECT_EQ(t.state, TrialState::kWaiting);
  EXPECT_EQ(t.number, 0);
  EXPECT_FALSE(t.datetime_start.has_value());
  EXPECT_EQ(t.param("lr"), ParamValue(0.01));
  EXPECT_EQ(t.param("opt"), ParamValue(std::string("adam")));
  EXPECT_EQ(t.distributions.at("lr"), Distribution(FloatDistribution(1e-4, 1, true)));
  EXPECT_EQ(dumps(t.system_attrs.at("fixed_params")), R"({"lr": 0.01, "opt": "adam"})");
}

TEST_P(StorageTest, CompleteTemplateCopiesEverything) {
  int64_t study = new_study("s", {kMin, kMax});
  const TimePoint start = to_micros(now()) - std::chrono::seconds(90);
  const TimePoint end = start + std::chrono::microseconds(61'000'123);
  FrozenTrial templ;
  templ.trial_id = 12345;  // ignored
  templ.number = 77;       // ignored
  templ.state = TrialState::kComplete;
  templ.values = {0.25, -kInf};
  templ.internal_params = {{"n", 3.0}, {"x", 0.5}};
  templ.distributions = {{"n", IntDistribution(1, 9, false, 2)}, {"x", FloatDistribution(0, 1)}};
  templ.intermediate_values = {{0, 1.5}, {1, kNan}, {5, kInf}};
  templ.user_attrs = {{"note", "copied"}};
  templ.system_attrs = {{"sys", Json::array({1, 2})}};
  templ.datetime_start = start;
  templ.datetime_complete = end;

  int64_t id = storage().create_trial(study, &templ);
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.trial_id, id);
  EXPECT_EQ(t.number, 0);
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(t.values, std::vector<double>({0.25, -kInf}));
  EXPECT_EQ(t.param("n"), ParamValue(int64_t{3}));
  EXPECT_EQ(t.param("x"), ParamValue(0.5));
  EXPECT_EQ(t.distributions, templ.distributions);
  ASSERT_EQ(t.intermediate_values.size(), 3u);
  EXPECT_EQ(t.intermediate_values.at(0), 1.5);
  EXPECT_TRUE(std::isnan(t.intermediate_values.at(1)));
  EXPECT_EQ(t.intermediate_values.at(5), kInf);
  EXPECT_EQ(texts(t.user_attrs), (std::map<std::string, std::string>{{"note", "\"copied\""}}));
  EXPECT_EQ(texts(t.system_attrs), (std::map<std::string, std::string>{{"sys", "[1, 2]"}}));
  EXPECT_EQ(t.datetime_start, start);
  EXPECT_EQ(t.datetime_complete, end);
  EXPECT_DOUBLE_EQ(*t.duration_seconds(), 61.000123);
}

TEST_P(StorageTest, MalformedTemplatesAreRefusedAndLeaveNoTrace) {
  int64_t study = new_study();
  int64_t first = storage().create_trial(study);
  storage().set_trial_param(first, "x", 0.5, FloatDistribution(0, 1));
  struct Case {
    const char* name;
    FrozenTrial templ;
  };
  auto make = [](auto&& fill) {
    FrozenTrial t;
    t.state = TrialState::kComplete;
    fill(t);
    return t;
  };
  const std::vector<Case> cases = {
      {"NaN value", make([](FrozenTrial& t) { t.values = {kNan}; })},
      {"param without distribution", make([](FrozenTrial& t) {
         t.internal_params = {{"y", 1.0}};
       })},
      {"param of another kind", make([](FrozenTrial& t) {
         // "a" is new and fine; "x" clashes with the study's FloatDistribution.
         t.internal_params = {{"a", 0.0}, {"x", 1.0}};
         t.distributions = {{"a", FloatDistribution(0, 1)}, {"x", IntDistribution(0, 3)}};
       })},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROW(storage().create_trial(study, &c.templ), InvalidArgument);
    EXPECT_EQ(storage().n_trials(study), 1);
  }
  // The refused template must not have claimed "a" for FloatDistribution.
  int64_t next = storage().create_trial(study);
  EXPECT_NO_THROW(storage().set_trial_param(next, "a", 1.0, IntDistribution(0, 3)));
  EXPECT_EQ(storage().trial(next).number, 1);
}

TEST_P(StorageTest, CreateTrialsOnceCreatesOnlyOnce) {
  int64_t study = new_study();
  std::vector<FrozenTrial> grid(3);
  for (size_t i = 0; i < grid.size(); ++i) {
    grid[i].state = TrialState::kWaiting;
    grid[i].internal_params = {{"x", static_cast<double>(i)}};
    grid[i].distributions = {{"x", IntDistribution(0, 2)}};
  }
  EXPECT_TRUE(storage().create_trials_once(study, "grid:v1", grid));
  EXPECT_FALSE(storage().create_trials_once(study, "grid:v1", grid));
  EXPECT_EQ(storage().n_trials(study), 3);
  EXPECT_EQ(storage().n_trials(study, TrialState::kWaiting), 3);
  EXPECT_TRUE(storage().study_system_attrs(study).count("grid:v1"));
  auto trials = storage().trials(study);
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].internal_params.at("x"), static_cast<double>(i));
  }
}

TEST_P(StorageTest, CreateTrialsOnceIsPerKeyAndPerStudy) {
  int64_t a = new_study("a"), b = new_study("b");
  std::vector<FrozenTrial> one(1);
  one[0].state = TrialState::kWaiting;
  EXPECT_TRUE(storage().create_trials_once(a, "k1", one));
  EXPECT_TRUE(storage().create_trials_once(a, "k2", one));
  EXPECT_TRUE(storage().create_trials_once(b, "k1", one));
  EXPECT_EQ(storage().n_trials(a), 2);
  EXPECT_EQ(storage().n_trials(b), 1);
}

TEST_P(StorageTest, CreateTrialsOnceFromManyThreadsCreatesOnce) {
  int64_t study = new_study();
  std::vector<FrozenTrial> grid(5);
  for (auto& t : grid) t.state = TrialState::kWaiting;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { created += storage().create_trials_once(study, "once", grid); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(storage().n_trials(study), 5);
}

// ---------------------------------------------------------------- claiming WAITING trials

TEST_P(StorageTest, ClaimTakesWaitingTrialsOldestFirst) {
  int64_t study = new_study();
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  storage().create_trial(study);  // RUNNING: never claimed
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(storage().create_trial(study, &waiting));
  finished_trial(study, TrialState::kComplete);

  TimePoint before = to_micros(now());
  for (int64_t expected : ids) {
    auto claimed = storage().claim_waiting_trial(study);
    ASSERT_EQ(claimed, expected);
    FrozenTrial t = storage().trial(*claimed);
    EXPECT_EQ(t.state, TrialState::kRunning);
    ASSERT_TRUE(t.datetime_start.has_value());
    EXPECT_GE(*t.datetime_start, before);
  }
  EXPECT_EQ(storage().claim_waiting_trial(study), std::nullopt);
}

TEST_P(StorageTest, ClaimOnlyLooksAtItsStudy) {
  int64_t a = new_study("a"), b = new_study("b");
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  storage().create_trial(a, &waiting);
  EXPECT_EQ(storage().claim_waiting_trial(b), std::nullopt);
  EXPECT_TRUE(storage().claim_waiting_trial(a).has_value());
}

TEST_P(StorageTest, ClaimFromManyThreadsGivesEachTrialOnce) {
  int64_t study = new_study();
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  const int n = 40;
  std::set<int64_t> enqueued;
  for (int i = 0; i < n; ++i) enqueued.insert(storage().create_trial(study, &waiting));
  std::vector<std::vector<int64_t>> claimed(4);
  std::vector<std::thread> threads;
  for (auto& mine : claimed) {
    threads.emplace_back([&, out = &mine] {
      while (auto id = storage().claim_waiting_trial(study)) out->push_back(*id);
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<int64_t> all;
  for (const auto& mine : claimed) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(n));
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), enqueued);
}

// ---------------------------------------------------------------- parameters

TEST_P(StorageTest, ParamsRoundTripWithTheirDistributions) {
  int64_t study = new_study();
  int64_t id = storage().create_trial(study);
  const CategoricalDistribution choices(
      {std::monostate{}, true, int64_t{3}, 0.5, std::string("x")});
  storage().set_trial_param(id, "lr", 0.001, FloatDistribution(1e-5, 1, true));
  storage().set_trial_param(id, "layers", 4, IntDistribution(1, 8));
  storage().set_trial_param(id, "step", 0.9, FloatDistribution(0, 1, false, 0.3));
  for (int i = 0; i < 5; ++i) {
    storage().set_trial_param(id, "c" + std::to_string(i), i, choices);
  }
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.param("lr"), ParamValue(0.001));
  EXPECT_EQ(t.param("layers"), ParamValue(int64_t{4}));
  EXPECT_EQ(t.param("step"), ParamValue(0.9));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.param("c" + std::to_string(i)), choices.choices[i]);
  EXPECT_EQ(t.distributions.at("lr"), Distribution(FloatDistribution(1e-5, 1, true)));
  EXPECT_EQ(t.distributions.at("c0"), Distribution(choices));
  EXPECT_THROW(t.param("missing"), NotFound);
}

TEST_P(StorageTest, IncompatibleParamIsRefusedNamingIt) {
  struct Case {
    const char* name;
    Distribution first, second;
    double value;  // inside both
  };
  const std::vector<Case> cases = {
      {"different kind", FloatDistribution(0, 1), IntDistribution(0, 1), 1},
      {"different categorical choices", CategoricalDistribution({std::string("a")}),
       CategoricalDistribution({std::string("a"), std::string("b")}), 0},
      {"different log flag", FloatDistribution(1e-3, 1, true), FloatDistribution(1e-3, 1), 0.5},
      {"different int log flag", IntDistribution(1, 8), IntDistribution(1, 8, true), 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    int64_t study = new_study(c.name);
    storage().set_trial_param(storage().create_trial(study), "p", c.value, c.first);
    int64_t second = storage().create_trial(study);
    try {
      storage().set_trial_param(second, "p", c.value, c.second);
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("'p'"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(storage().trial(second).internal_params.empty());
  }
}

TEST_P(StorageTest, CompatibleParamChangesAreAccepted) {
  int64_t study = new_study();
  storage().set_trial_param(storage().create_trial(study), "x", 0.5, FloatDistribution(0, 1));
  int64_t second = storage().create_trial(study);
  EXPECT_NO_THROW(storage().set_trial_param(second, "x", 7, FloatDistribution(0, 10, false, 1)));
  EXPECT_EQ(storage().trial(second).param("x"), ParamValue(7.0));
}

TEST_P(StorageTest, SameParamNameMayHaveOtherKindsInOtherStudies) {
  int64_t a = new_study("a"), b = new_study("b");
  storage().set_trial_param(storage().create_trial(a), "x", 0.5, FloatDistribution(0, 1));
  EXPECT_NO_THROW(
      storage().set_trial_param(storage().create_trial(b), "x", 0, CategoricalDistribution({1.5})));
}

// ---------------------------------------------------------------- states and values

TEST_P(StorageTest, StateTransitionsFollowOptuna) {
  struct Case {
    TrialState from, to;
    bool allowed;
  };
  using S = TrialState;
  const std::vector<Case> cases = {
      {S::kRunning, S::kComplete, true},   {S::kRunning, S::kPruned, true},
      {S::kRunning, S::kFail, true},       {S::kRunning, S::kRunning, false},
      {S::kWaiting, S::kRunning, true},    {S::kWaiting, S::kFail, true},
      {S::kComplete, S::kRunning, false},  {S::kComplete, S::kFail, false},
      {S::kComplete, S::kComplete, false}, {S::kPruned, S::kComplete, false},
      {S::kFail, S::kRunning, false},      {S::kFail, S::kWaiting, false},
  };
  int64_t study = new_study();
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.from) + " -> " + to_string(c.to));
    FrozenTrial templ;
    templ.state = c.from;
    if (c.from == S::kComplete) templ.values = {1.0};
    int64_t id = storage().create_trial(study, &templ);
    std::vector<double> values;
    if (c.to == S::kComplete) values = {2.0};
    EXPECT_EQ(storage().set_trial_state_values(id, c.to, values), c.allowed);
    FrozenTrial t = storage().trial(id);
    EXPECT_EQ(t.state, c.allowed ? c.to : c.from);
    if (c.from == S::kComplete) {
      EXPECT_EQ(t.values, std::vector<double>({1.0}));
    }
  }
}

TEST_P(StorageTest, FinishingSetsCompletionTime) {
  int64_t study = new_study();
  int64_t id = storage().create_trial(study);
  TimePoint before = to_micros(now());
  ASSERT_TRUE(storage().set_trial_state_values(id, TrialState::kPruned));
  FrozenTrial t = storage().trial(id);
  ASSERT_TRUE(t.datetime_complete.has_value());
  EXPECT_GE(*t.datetime_complete, before);
  EXPECT_GE(*t.duration_seconds(), 0.0);
}

TEST_P(StorageTest, FinishedTrialRefusesEveryWrite) {
  int64_t study = new_study();
  int64_t id = storage().create_trial(study);
  storage().set_trial_param(id, "x", 0.5, FloatDistribution(0, 1));
  ASSERT_TRUE(storage().set_trial_state_values(id, TrialState::kComplete, {3.0}));
  struct Case {
    const char* name;
    std::function<void()> write;
  };
  const std::vector<Case> writes = {
      {"set_trial_param",
       [&] { storage().set_trial_param(id, "y", 0.5, FloatDistribution(0, 1)); }},
      {"set_trial_intermediate_value", [&] { storage().set_trial_intermediate_value(id, 0, 1.0); }},
      {"set_trial_user_attr", [&] { storage().set_trial_user_attr(id, "k", 1); }},
      {"set_trial_system_attr", [&] { storage().set_trial_system_attr(id, "k", 1); }},
  };
  for (const auto& w : writes) {
    SCOPED_TRACE(w.name);
    EXPECT_THROW(w.write(), Error);
  }
  EXPECT_FALSE(storage().set_trial_state_values(id, TrialState::kComplete, {4.0}));
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.values, std::vector<double>({3.0}));
  EXPECT_EQ(t.internal_params.size(), 1u);
  EXPECT_TRUE(t.intermediate_values.empty());
  EXPECT_TRUE(t.user_attrs.empty());
  EXPECT_TRUE(t.system_attrs.empty());
}

TEST_P(StorageTest, ObjectiveValuesRoundTripIncludingInfinities) {
  const std::vector<std::vector<double>> cases = {
      {0.0}, {-1.5}, {1e308}, {4.9e-324}, {kInf}, {-kInf}, {1.0, -kInf, kInf},
  };
  int64_t study = new_study("s", {kMin, kMax, kMin});
  for (const auto& values : cases) {
    int64_t id = storage().create_trial(study);
    ASSERT_TRUE(storage().set_trial_state_values(id, TrialState::kComplete, values));
    EXPECT_EQ(storage().trial(id).values, values);
  }
}

TEST_P(StorageTest, NanObjectiveValueIsRefused) {
  int64_t study = new_study("s", {kMin, kMin});
  int64_t id = storage().create_trial(study);
  for (const auto& values : std::vector<std::vector<double>>{{kNan}, {1.0, kNan}}) {
    EXPECT_THROW(storage().set_trial_state_values(id, TrialState::kComplete, values),
                 InvalidArgument);
  }
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_TRUE(t.values.empty());
}

TEST_P(StorageTest, IntermediateValuesRoundTripIncludingNanAndInfinities) {
  const std::vector<std::pair<int64_t, double>> steps = {
      {0, 0.5}, {1, kNan}, {2, kInf}, {3, -kInf}, {4, -0.0}, {10, 1e-300}, {1000000, -7.25},
  };
  int64_t id = storage().create_trial(new_study());
  for (const auto& [step, value] : steps) storage().set_trial_intermediate_value(id, step, value);
  FrozenTrial t = storage().trial(id);
  ASSERT_EQ(t.intermediate_values.size(), steps.size());
  for (const auto& [step, value] : steps) {
    SCOPED_TRACE(step);
    double got = t.intermediate_values.at(step);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(got));
    } else {
      EXPECT_EQ(got, value);
    }
  }
  EXPECT_EQ(t.last_step()->first, 1000000);
}

TEST_P(StorageTest, IntermediateValueForAStepCanBeReplaced) {
  int64_t id = storage().create_trial(new_study());
  storage().set_trial_intermediate_value(id, 3, 1.0);
  storage().set_trial_intermediate_value(id, 3, 2.0);
  EXPECT_EQ(storage().trial(id).intermediate_values, (std::map<int64_t, double>{{3, 2.0}}));
}

TEST_P(StorageTest, TrialAttrsRoundTripJson) {
  int64_t id = storage().create_trial(new_study());
  std::map<std::string, std::string> expected;
  for (const auto& [key, value] : attr_values()) {
    storage().set_trial_user_attr(id, key, value);
    storage().set_trial_system_attr(id, "sys:" + key, value);
    expected[key] = dumps(value);
  }
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(texts(t.user_attrs), expected);
  EXPECT_EQ(t.system_attrs.size(), attr_values().size());
  EXPECT_EQ(dumps(t.system_attrs.at("sys:object")), R"({"z": 1, "a": [true]})");
}

// ---------------------------------------------------------------- reading trials

TEST_P(StorageTest, TrialsAreOrderedByNumberAndFilteredByState) {
  using S = TrialState;
  int64_t study = new_study();
  const std::vector<S> states = {S::kComplete, S::kRunning, S::kPruned,  S::kComplete,
                                 S::kFail,     S::kWaiting, S::kComplete};
  for (S state : states) {
    FrozenTrial templ;
    templ.state = state;
    if (state == S::kComplete) templ.values = {1.0};
    storage().create_trial(study, &templ);
  }
  auto numbers = [&](const std::vector<S>& filter) {
    std::vector<int64_t> out;
    for (const auto& t : storage().trials(study, filter)) out.push_back(t.number);
    return out;
  };
  EXPECT_EQ(numbers({}), std::vector<int64_t>({0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(numbers({S::kComplete}), std::vector<int64_t>({0, 3, 6}));
  EXPECT_EQ(numbers({S::kWaiting, S::kPruned}), std::vector<int64_t>({2, 5}));
  EXPECT_EQ(numbers({S::kFail, S::kRunning}), std::vector<int64_t>({1, 4}));
  EXPECT_EQ(storage().n_trials(study), 7);
  EXPECT_EQ(storage().n_trials(study, S::kComplete), 3);
  EXPECT_EQ(storage().n_trials(study, S::kWaiting), 1);
}

TEST_P(StorageTest, CountsByStateFollowEveryTransition) {
  // n_trials(state) and claim_waiting_trial against a scan of trials() after templates of every
  // state, claims, tells, a refused transition and a second study (the in-memory storage keeps
  // these counts instead of scanning).
  using S = TrialState;
  int64_t study = new_study(), other = new_study("other");
  auto expect_counts = [&](const std::string& when) {
    for (S state : {S::kRunning, S::kComplete, S::kPruned, S::kFail, S::kWaiting}) {
      int64_t scanned = 0;
      for (const auto& t : storage().trials(study)) scanned += t.state == state;
      EXPECT_EQ(storage().n_trials(study, state), scanned) << when << ": " << to_string(state);
    }
    EXPECT_EQ(storage().n_trials(study), static_cast<int64_t>(storage().trials(study).size()));
  };
  std::vector<int64_t> waiting;
  for (S state : {S::kWaiting, S::kComplete, S::kWaiting, S::kRunning, S::kFail, S::kWaiting}) {
    FrozenTrial templ;
    templ.state = state;
    if (state == S::kComplete) templ.values = {1.0};
    const int64_t id = storage().create_trial(study, &templ);
    if (state == S::kWaiting) waiting.push_back(id);
  }
  FrozenTrial other_waiting;
  other_waiting.state = S::kWaiting;
  storage().create_trial(other, &other_waiting);
  expect_counts("templates");
  const auto first = storage().claim_waiting_trial(study);
  ASSERT_EQ(first, waiting[0]) << "the lowest number first";
  expect_counts("claimed");
  EXPECT_TRUE(storage().set_trial_state_values(*first, S::kComplete, {2.0}));
  EXPECT_FALSE(storage().set_trial_state_values(*first, S::kFail));  // refused: no change
  expect_counts("told");
  EXPECT_TRUE(storage().set_trial_state_values(waiting[2], S::kRunning));  // WAITING -> RUNNING
  expect_counts("started");
  EXPECT_EQ(storage().claim_waiting_trial(study), waiting[1]);
  EXPECT_EQ(storage().claim_waiting_trial(study), std::nullopt);
  const int64_t fresh = storage().create_trial(study);
  EXPECT_TRUE(storage().set_trial_state_values(fresh, S::kPruned, {3.0}));
  expect_counts("pruned");
  EXPECT_EQ(storage().n_trials(other, S::kWaiting), 1);
  EXPECT_TRUE(storage().claim_waiting_trial(other).has_value());
  EXPECT_EQ(storage().n_trials(other, S::kWaiting), 0);
  EXPECT_EQ(storage().n_trials(other, S::kRunning), 1);
}

TEST_P(StorageTest, EmptyStudyHasNoTrials) {
  int64_t study = new_study();
  EXPECT_TRUE(storage().trials(study).empty());
  EXPECT_EQ(storage().n_trials(study), 0);
  EXPECT_EQ(storage().n_trials(study, TrialState::kComplete), 0);
}

// ---------------------------------------------------------------- reading only what changed

std::vector<int64_t> numbers_of(const std::vector<FrozenTrial>& trials) {
  std::vector<int64_t> out;
  for (const auto& t : trials) out.push_back(t.number);
  return out;
}

TEST_P(StorageTest, TrialsSinceReadsNewerTrialsAndListedOnesByNumber) {
  int64_t study = new_study();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(storage().create_trial(study));  // RUNNING 0..4
  EXPECT_EQ(numbers_of(storage().trials_since(study, -1, {})),
            std::vector<int64_t>({0, 1, 2, 3, 4}));
  EXPECT_EQ(numbers_of(storage().trials_since(study, ids[2], {})), std::vector<int64_t>({3, 4}));
  EXPECT_TRUE(storage().trials_since(study, ids[4], {}).empty());
  // Listed ids come too (once, even when also newer), still by number.
  EXPECT_EQ(numbers_of(storage().trials_since(study, ids[3], {ids[1], ids[0], ids[4]})),
            std::vector<int64_t>({0, 1, 4}));
  EXPECT_EQ(numbers_of(storage().trials_since(study, ids[4], {ids[2]})), std::vector<int64_t>({2}));
}

TEST_P(StorageTest, TrialsSinceShowsTheTrialsAsStoredNow) {
  int64_t study = new_study();
  int64_t first = storage().create_trial(study);
  int64_t second = storage().create_trial(study);
  storage().set_trial_param(first, "x", 0.25, FloatDistribution(0, 1));
  storage().set_trial_intermediate_values(first, {{0, 2.0}, {1, kNan}});
  storage().set_trial_user_attr(first, "note", "a");
  ASSERT_TRUE(storage().set_trial_state_values(first, TrialState::kComplete, {1.5}));
  auto changed = storage().trials_since(study, second, {first});
  ASSERT_EQ(changed.size(), 1u);
  FrozenTrial expected = storage().trial(first);
  EXPECT_EQ(changed[0].trial_id, first);
  EXPECT_EQ(changed[0].state, TrialState::kComplete);
  EXPECT_EQ(changed[0].values, expected.values);
  EXPECT_EQ(changed[0].internal_params, expected.internal_params);
  EXPECT_EQ(changed[0].intermediate_values.size(), 2u);
  EXPECT_EQ(texts(changed[0].user_attrs), texts(expected.user_attrs));
  EXPECT_EQ(changed[0].datetime_complete, expected.datetime_complete);
}

TEST_P(StorageTest, TrialsSinceKeepsToItsStudy) {
  int64_t study = new_study("a");
  int64_t other = new_study("b");
  int64_t mine = storage().create_trial(study);
  int64_t theirs = storage().create_trial(other);  // a larger id, another study
  EXPECT_EQ(numbers_of(storage().trials_since(study, -1, {theirs})), std::vector<int64_t>({0}));
  EXPECT_TRUE(storage().trials_since(study, mine, {theirs}).empty());
  EXPECT_EQ(storage().trials_since(other, -1, {mine}).at(0).trial_id, theirs);
}

TEST_P(StorageTest, TrialsSinceOfUnknownStudyIsNotFound) {
  EXPECT_THROW(storage().trials_since(12345, -1, {}), NotFound);
}

// ---------------------------------------------------------------- TrialCache over each backend

// What a reader compares: number, state, values, params, intermediate values.
std::vector<std::string> digest(const std::vector<FrozenTrial>& trials) {
  std::vector<std::string> out;
  for (const auto& t : trials) {
    Json row = {{"number", t.number},
                {"state", to_string(t.state)},
                {"values", t.values},
                {"params", t.internal_params},
                {"steps", t.intermediate_values.size()}};
    out.push_back(dumps(row));
  }
  return out;
}

TEST_P(StorageTest, TrialCacheMatchesTheStorageAfterEveryKindOfChange) {
  using S = TrialState;
  int64_t study = new_study();
  new_study("other");
  TrialCache cache(std::shared_ptr<Storage>(storage_.get(), [](Storage*) {}), study);
  auto expect_same = [&](const char* after) {
    SCOPED_TRACE(after);
    for (const std::vector<S>& states :
         std::vector<std::vector<S>>{{}, {S::kComplete}, {S::kRunning, S::kWaiting}}) {
      EXPECT_EQ(digest(cache.trials(states)), digest(storage().trials(study, states)));
    }
  };
  expect_same("nothing");
  int64_t a = storage().create_trial(study);
  expect_same("create");
  storage().set_trial_param(a, "x", 0.5, FloatDistribution(0, 1));
  storage().set_trial_intermediate_values(a, {{0, 1.0}, {1, 0.5}});
  expect_same("param and reports of a cached RUNNING trial");
  ASSERT_TRUE(storage().set_trial_state_values(a, S::kComplete, {0.5}));
  expect_same("finish");
  FrozenTrial waiting;
  waiting.state = S::kWaiting;
  int64_t w = storage().create_trial(study, &waiting);
  storage().create_trial(storage().study_id_from_name("other"));
  expect_same("enqueue (and a trial of another study)");
  ASSERT_EQ(storage().claim_waiting_trial(study), w);
  expect_same("claim");
  ASSERT_TRUE(storage().set_trial_state_values(w, S::kPruned));
  finished_trial(study, S::kFail);
  expect_same("prune and a new FAIL trial");
}

TEST_P(StorageTest, TrialCacheSharedByThreadsEndsEqualToTheStorage) {
  int64_t study = new_study();
  TrialCache cache(std::shared_ptr<Storage>(storage_.get(), [](Storage*) {}), study);
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!done) {
        auto trials = cache.trials();
        for (size_t n = 0; n < trials.size(); ++n) ASSERT_EQ(trials[n].number, int64_t(n));
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    int64_t id = storage().create_trial(study);
    if (i % 3 != 0) storage().set_trial_state_values(id, TrialState::kComplete, {double(i)});
  }
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(digest(cache.trials()), digest(storage().trials(study)));
}

// Counts what the cache asks of the storage.
class CountingStorage : public InMemoryStorage {
 public:
  std::vector<FrozenTrial> trials_since(int64_t study_id, int64_t after_trial_id,
                                        const std::vector<int64_t>& trial_ids) override {
    auto out = InMemoryStorage::trials_since(study_id, after_trial_id, trial_ids);
    last_read = out.size();
    return out;
  }
  size_t last_read = 0;
};

TEST(TrialCache, ReadsOnlyNewAndUnfinishedTrials) {
  auto storage = std::make_shared<CountingStorage>();
  int64_t study = storage->create_study("s", {kMin});
  for (int i = 0; i < 100; ++i) {
    storage->set_trial_state_values(storage->create_trial(study), TrialState::kComplete, {1.0});
  }
  int64_t running = storage->create_trial(study);
  TrialCache cache(storage, study);
  EXPECT_EQ(cache.trials().size(), 101u);
  EXPECT_EQ(storage->last_read, 101u);
  EXPECT_EQ(cache.trials().size(), 101u);
  EXPECT_EQ(storage->last_read, 1u);  // the RUNNING one
  storage->create_trial(study);
  storage->set_trial_state_values(running, TrialState::kComplete, {0.0});
  EXPECT_EQ(cache.trials({TrialState::kComplete}).size(), 101u);
  EXPECT_EQ(storage->last_read, 2u);  // the one just finished and the new one
  EXPECT_EQ(cache.trials().size(), 102u);
  EXPECT_EQ(storage->last_read, 1u);  // the new one, still RUNNING
}

// ---------------------------------------------------------------- summaries

TEST_P(StorageTest, SummaryCountsTrialsAndFindsTheBest) {
  struct Case {
    StudyDirection direction;
    double best;
  };
  for (const Case& c : {Case{kMin, -2.0}, Case{kMax, 9.0}}) {
    SCOPED_TRACE(to_string(c.direction));
    int64_t study = new_study(to_string(c.direction), {c.direction});
    storage().set_study_user_attr(study, "owner", "me");
    for (double v : {3.0, -2.0, 9.0, 0.5}) finished_trial(study, TrialState::kComplete, v);
    finished_trial(study, TrialState::kPruned);
    finished_trial(study, TrialState::kFail);
    storage().create_trial(study);

    auto summaries = storage().all_studies();
    auto it = std::find_if(summaries.begin(), summaries.end(),
                           [&](const StudySummary& s) { return s.study_id == study; });
    ASSERT_NE(it, summaries.end());
    EXPECT_EQ(it->study_name, to_string(c.direction));
    EXPECT_EQ(it->directions, std::vector<StudyDirection>({c.direction}));
    EXPECT_EQ(dumps(it->user_attrs.at("owner")), "\"me\"");
    EXPECT_EQ(it->trial_counts.at(TrialState::kComplete), 4);
    EXPECT_EQ(it->trial_counts.at(TrialState::kPruned), 1);
    EXPECT_EQ(it->trial_counts.at(TrialState::kFail), 1);
    EXPECT_EQ(it->trial_counts.at(TrialState::kRunning), 1);
    EXPECT_EQ(it->trial_counts.count(TrialState::kWaiting), 0u);
    EXPECT_EQ(it->n_trials(), 7);
    ASSERT_TRUE(it->best_trial.has_value());
    EXPECT_EQ(it->best_trial->value(), c.best);
    EXPECT_TRUE(it->datetime_start.has_value());
  }
}

TEST_P(StorageTest, SummaryHasNoBestWithoutCompleteTrialsOrWithSeveralObjectives) {
  int64_t empty = new_study("empty");
  finished_trial(empty, TrialState::kFail);
  int64_t multi = new_study("multi", {kMin, kMax});
  int64_t id = storage().create_trial(multi);
  storage().set_trial_state_values(id, TrialState::kComplete, {1.0, 2.0});
  for (const auto& s : storage().all_studies()) {
    SCOPED_TRACE(s.study_name);
    EXPECT_FALSE(s.best_trial.has_value());
    EXPECT_EQ(s.n_trials(), 1);
  }
}

// ---------------------------------------------------------------- threads

TEST_P(StorageTest, ThreadsCreatingTrialsGetDistinctConsecutiveNumbers) {
  int64_t study = new_study();
  const int threads_n = 4, per_thread = 25;
  std::vector<std::thread> threads;
  for (int w = 0; w < threads_n; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_thread; ++i) {
        int64_t id = storage().create_trial(study);
        storage().set_trial_param(id, "w", w, IntDistribution(0, threads_n - 1));
        storage().set_trial_state_values(id, TrialState::kComplete, {static_cast<double>(i)});
      }
    });
  }
  for (auto& t : threads) t.join();
  auto trials = storage().trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(threads_n * per_thread));
  std::map<int64_t, int> per_worker;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::kComplete);
    ++per_worker[std::get<int64_t>(trials[i].param("w"))];
  }
  for (int w = 0; w < threads_n; ++w) EXPECT_EQ(per_worker[w], per_thread);
}

// ---------------------------------------------------------------- heartbeats

constexpr double kGrace = 0.1;
// Waits until a heartbeat recorded before is stale: 0.25 s, or 1.25 s on SQLite, which keeps
// heartbeats to the whole second (as Optuna does) and counts silence from the second's end.
void outlive_grace(const Backend& backend) {
  std::this_thread::sleep_for(
      std::chrono::milliseconds(std::string(backend.name) == "Sqlite" ? 1250 : 250));
}

// The silence a stale trial's "fail_reason" names, in seconds (-1 if it names none).
double silence_in(const FrozenTrial& t) {
  auto it = t.system_attrs.find("fail_reason");
  double silent = -1, grace = -1;
  if (it == t.system_attrs.end() || !it->second.is_string()) return -1;
  const std::string text = it->second.get<std::string>();
  if (std::sscanf(text.c_str(), "stale: no heartbeat for %lf s (grace %lf s)", &silent, &grace) !=
      2) {
    return -1;
  }
  EXPECT_DOUBLE_EQ(grace, kGrace) << text;
  return silent;
}

TEST_P(StorageTest, StaleTrialIsFailedWithReasonAndCompletionTime) {
  int64_t study = new_study();
  int64_t id = storage().create_trial(study);
  storage().record_heartbeat(id);
  outlive_grace(GetParam());
  TimePoint before = to_micros(now());
  EXPECT_EQ(storage().fail_stale_trials(study, kGrace), std::vector<int64_t>{id});
  EXPECT_EQ(storage().n_trials(study, TrialState::kFail), 1);
  EXPECT_EQ(storage().n_trials(study, TrialState::kRunning), 0);
  FrozenTrial t = storage().trial(id);
  EXPECT_EQ(t.state, TrialState::kFail);
  ASSERT_TRUE(t.datetime_complete.has_value());
  EXPECT_GE(*t.datetime_complete, before);
  // The silence is measured by one clock: about the time slept, not hours of time-zone skew.
  const double silent = silence_in(t);
  EXPECT_GE(silent, 0.2);
  EXPECT_LT(silent, 30.0);
  EXPECT_TRUE(storage().fail_stale_trials(study, kGrace).empty()) << "failed only once";
}

TEST_P(StorageTest, FreshOrMissingHeartbeatIsNotStale) {
  int64_t study = new_study();
  int64_t silent_from_start = storage().create_trial(study);  // never beat: as in Optuna
  int64_t refreshed = storage().create_trial(study);
  int64_t stopped = storage().create_trial(study);
  storage().record_heartbeat(refreshed);
  storage().record_heartbeat(stopped);
  outlive_grace(GetParam());
  storage().record_heartbeat(refreshed);  // the row is updated, not added
  EXPECT_EQ(storage().fail_stale_trials(study, kGrace), std::vector<int64_t>{stopped});
  EXPECT_EQ(storage().trial(silent_from_start).state, TrialState::kRunning);
  EXPECT_EQ(storage().trial(refreshed).state, TrialState::kRunning);
  EXPECT_EQ(storage().trial(refreshed).system_attrs.count("fail_reason"), 0u);
}

// A worker killed right after creating or claiming its trial, before it ever called
// record_heartbeat: with the first heartbeat written by that same call the trial still goes
// stale; without it (Optuna's create/claim) the trial has no heartbeat and never does.
TEST_P(StorageTest, FirstHeartbeatComesWithCreatingOrClaimingTheTrial) {
  int64_t study = new_study();
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  struct Case {
    std::string what;
    int64_t trial_id;
    bool stale;
  };
  std::vector<Case> cases;
  for (bool with_heartbeat : {true, false}) {
    const std::string how = with_heartbeat ? " with its heartbeat" : " without a heartbeat";
    storage().create_trial(study, &waiting);
    std::optional<int64_t> claimed = storage().claim_waiting_trial(study, with_heartbeat);
    ASSERT_TRUE(claimed.has_value());
    cases.push_back({"claimed" + how, *claimed, with_heartbeat});
    cases.push_back(
        {"created" + how, storage().create_trial(study, nullptr, with_heartbeat), with_heartbeat});
  }
  outlive_grace(GetParam());
  const std::vector<int64_t> failed = storage().fail_stale_trials(study, kGrace);
  EXPECT_EQ(failed.size(), 2u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(std::count(failed.begin(), failed.end(), c.trial_id), c.stale ? 1 : 0);
    FrozenTrial t = storage().trial(c.trial_id);
    EXPECT_EQ(t.state, c.stale ? TrialState::kFail : TrialState::kRunning);
    if (c.stale) {
      EXPECT_GE(silence_in(t), 0.2) << "the heartbeat is as old as the trial";
    }
  }
}

TEST_P(StorageTest, OnlyRunningTrialsOfTheStudyGoStale) {
  int64_t study = new_study("a"), other = new_study("b");
  int64_t done = storage().create_trial(study);
  int64_t elsewhere = storage().create_trial(other);
  int64_t running = storage().create_trial(study);
  for (int64_t id : {done, elsewhere, running}) storage().record_heartbeat(id);
  ASSERT_TRUE(storage().set_trial_state_values(done, TrialState::kComplete, {1.0}));
  outlive_grace(GetParam());
  EXPECT_EQ(storage().fail_stale_trials(study, kGrace), std::vector<int64_t>{running});
  EXPECT_EQ(storage().trial(done).state, TrialState::kComplete);
  EXPECT_EQ(storage().trial(elsewhere).state, TrialState::kRunning);
  EXPECT_EQ(storage().fail_stale_trials(other, kGrace), std::vector<int64_t>{elsewhere});
}

TEST_P(StorageTest, MalformedHeartbeatCallsAreRefused) {
  int64_t study = new_study();
  EXPECT_THROW(storage().record_heartbeat(12345), NotFound);
  EXPECT_THROW(storage().fail_stale_trials(study + 100, 1.0), NotFound);
  struct Case {
    const char* what;
    double grace;
  };
  for (const Case& c : {Case{"negative", -1.0}, Case{"NaN", kNan}, Case{"infinite", kInf}}) {
    try {
      storage().fail_stale_trials(study, c.grace);
      ADD_FAILURE() << c.what << " grace period accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("grace_period_seconds"), std::string::npos)
          << c.what << ": " << e.what();
    }
  }
}

TEST_P(StorageTest, ConnectionsRacingFailEachStaleTrialOnce) {
  Connect connect = GetParam().shared_database();
  auto setup = connect();
  int64_t study = setup->create_study("race", {kMin});
  std::set<int64_t> stale;
  for (int i = 0; i < 12; ++i) {
    int64_t id = setup->create_trial(study);
    setup->record_heartbeat(id);
    stale.insert(id);
  }
  const int n = 6;
  std::vector<std::shared_ptr<Storage>> connections;
  for (int i = 0; i < n; ++i) connections.push_back(connect());
  outlive_grace(GetParam());
  std::vector<std::vector<int64_t>> failed(n);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < n) std::this_thread::yield();  // start together
      failed[static_cast<size_t>(i)] =
          connections[static_cast<size_t>(i)]->fail_stale_trials(study, kGrace);
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<int64_t> all;
  for (const auto& mine : failed) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), stale.size()) << "each stale trial failed by exactly one caller";
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), stale);
  EXPECT_EQ(setup->n_trials(study, TrialState::kFail), static_cast<int64_t>(stale.size()));
}

}  // namespace
}  // namespace knob
