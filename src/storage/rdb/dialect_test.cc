// Tests of the RDB storage's shared pieces without a database server: PostgreSQL's placeholder
// numbering, the schema-revision check against a scripted dialect, and RdbStorage used
// through its base class.
#include "storage/rdb/dialect.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/rdb_storage.h"
#include "knob/storage/sqlite_storage.h"
#include "storage/rdb/postgres_dialect.h"
#include "storage/rdb/schema.h"

namespace knob {
namespace {

using detail::SqlValue;
using detail::SqlValues;

TEST(NumberedPlaceholders, QuestionMarksBecomeDollarNumbersInOrder) {
  const struct {
    const char* sql;
    const char* expected;
  } cases[] = {
      {"SELECT 1", "SELECT 1"},
      {"SELECT 1 FROM studies WHERE study_id = ?", "SELECT 1 FROM studies WHERE study_id = $1"},
      {"VALUES (?, ?, ?)", "VALUES ($1, $2, $3)"},
      {"t.trial_id = ANY(?::int[])", "t.trial_id = ANY($1::int[])"},
      {"x = '?' AND y = ?", "x = '?' AND y = $1"},                       // not in strings
      {"\"a?\" = ? AND 'it''s?' = ?", "\"a?\" = $1 AND 'it''s?' = $2"},  // nor identifiers
      {"h.heartbeat < LOCALTIMESTAMP - ?::double precision * INTERVAL '1 second'",
       "h.heartbeat < LOCALTIMESTAMP - $1::double precision * INTERVAL '1 second'"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(detail::numbered_placeholders(c.sql), c.expected) << c.sql;
  }
}

// A dialect that answers the schema queries from a table of canned results.
class ScriptedDialect : public detail::Dialect {
 public:
  explicit ScriptedDialect(std::map<std::string, std::optional<std::string>> answers)
      : Dialect("scripted://db", kSpelling), answers_(std::move(answers)) {}

  SchemaRevision open_schema(std::optional<SchemaRevision>) override {
    return kDefaultSchemaRevision;
  }
  std::set<std::string> table_names() override { return {}; }
  void begin(detail::Tx) override {}
  void commit(detail::Tx) override {}
  void rollback(detail::Tx) noexcept override {}
  int max_attempts() const override { return 1; }
  std::chrono::milliseconds pause_before_retry(int) const override {
    return std::chrono::milliseconds(0);
  }
  void query(const std::string& sql, const SqlValues& params, const detail::RowFn& each) override {
    query_first(sql, params, each);
  }
  bool query_first(const std::string& sql, const SqlValues&, const detail::RowFn& each) override {
    auto it = answers_.find(sql);
    if (it == answers_.end()) return false;
    each(Cell(it->second));
    return true;
  }
  int64_t run(const std::string& sql, const SqlValues& params) override {
    runs.push_back({sql, params.size()});
    return 1;
  }
  std::optional<int64_t> insert_returning_id(const std::string&, const SqlValues&,
                                             const char*) override {
    return std::nullopt;
  }
  void run_script(const std::string& sql) override { scripts.push_back(sql); }
  SqlValue id_list(const std::vector<int64_t>&) const override { return std::nullopt; }

  std::vector<std::pair<std::string, size_t>> runs;  // statements run, with their arity
  std::vector<std::string> scripts;                  // scripts run

 private:
  static constexpr detail::SqlSpelling kSpelling = {"", "", "", "", "", "JOIN", "", "", "", "", ""};
  // One row of one column.
  class Cell : public detail::SqlRow {
   public:
    explicit Cell(std::optional<std::string> value) : value_(std::move(value)) {}
    bool is_null(int) const override { return !value_; }
    int64_t int64(int) const override { return std::stoll(*value_); }
    double real(int) const override { return std::stod(*value_); }
    std::string text(int) const override { return value_.value_or(""); }

   private:
    std::optional<std::string> value_;
  };
  std::map<std::string, std::optional<std::string>> answers_;
};

const std::string kVersionQuery =
    "SELECT schema_version FROM version_info WHERE version_info_id = 1";
const std::string kRevisionQuery = "SELECT version_num FROM alembic_version";
const std::set<std::string> kTables = {"version_info", "trials", "alembic_version"};

TEST(SchemaVersions, TheRevisionsKnobReadsAreAccepted) {
  for (auto revision : {SchemaRevision::kV3_0_0_d, SchemaRevision::kV3_2_0_a}) {
    ScriptedDialect d({{kVersionQuery, "12"}, {kRevisionQuery, schema_revision_name(revision)}});
    EXPECT_EQ(detail::check_schema_revision(d, kTables, std::nullopt), revision);
    EXPECT_EQ(detail::check_schema_revision(d, kTables, revision), revision);
  }
}

TEST(SchemaVersions, OtherRevisionsAreRefusedNamingThemAndTheRevisionsKnobKnows) {
  const struct {
    std::optional<std::string> version;
    std::optional<std::string> revision;
    std::set<std::string> tables;
    const char* named;
    bool optuna_upgrades;  // an older revision Optuna 3.2+ upgrades: the advice is given
  } cases[] = {
      {"11", "v2.6.0.a", kTables, "schema version 11, alembic revision v2.6.0.a", true},
      {"12", "v3.0.0.c", kTables, "schema version 12, alembic revision v3.0.0.c", true},
      {"12", "v5.0.0.a", kTables, "schema version 12, alembic revision v5.0.0.a", false},
      {"13", "v3.2.0.a", kTables, "schema version 13, alembic revision v3.2.0.a", false},
      {"12", "mine.1", kTables, "schema version 12, alembic revision mine.1", false},
      {std::nullopt, "v3.0.0.d", kTables, "schema version (none), alembic revision v3.0.0.d",
       false},
      {"12",
       "v3.0.0.d",
       {"version_info", "trials"},
       "schema version 12, alembic revision (none)",
       false},
  };
  for (const auto& c : cases) {
    ScriptedDialect d({{kVersionQuery, c.version}, {kRevisionQuery, c.revision}});
    try {
      detail::check_schema_revision(d, c.tables, std::nullopt);
      ADD_FAILURE() << c.named << " was accepted";
    } catch (const StorageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(std::string("scripted://db: ") + c.named), std::string::npos) << what;
      EXPECT_NE(what.find("v3.0.0.d (Optuna 3.0-3.1) and v3.2.0.a (Optuna 3.2-4.9"),
                std::string::npos)
          << what;
      EXPECT_EQ(what.find("optuna storage upgrade --storage scripted://db") != std::string::npos,
                c.optuna_upgrades)
          << what;
    }
  }
}

TEST(SchemaVersions, AnExistingDatabaseOfAnotherRevisionThanAskedForIsRefused) {
  ScriptedDialect d({{kVersionQuery, "12"}, {kRevisionQuery, "v3.2.0.a"}});
  try {
    detail::check_schema_revision(d, kTables, SchemaRevision::kV3_0_0_d);
    ADD_FAILURE() << "accepted";
  } catch (const StorageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("at alembic revision v3.2.0.a but its URL asks for ?schema=v3.0.0.d"),
              std::string::npos)
        << what;
  }
}

TEST(SchemaVersions, ANewDatabaseGetsTheVersionRowsAndIndexOfItsRevision) {
  for (auto revision : {SchemaRevision::kV3_0_0_d, SchemaRevision::kV3_2_0_a}) {
    ScriptedDialect d({});
    detail::create_revision(d, revision);
    ASSERT_EQ(d.runs.size(), 2u);
    EXPECT_NE(d.runs[0].first.find("INSERT INTO version_info"), std::string::npos);
    EXPECT_EQ(d.runs[0].second, 2u);  // the schema version and the library version
    EXPECT_NE(d.runs[1].first.find("INSERT INTO alembic_version"), std::string::npos);
    EXPECT_EQ(d.scripts.size(), revision == SchemaRevision::kV3_2_0_a ? 1u : 0u);
  }
}

TEST(SchemaRevisionOption, IsTakenOffTheUrlLeavingItsOtherOptions) {
  const struct {
    std::string url;
    std::optional<SchemaRevision> revision;
    std::string rest;
  } cases[] = {
      {"sqlite:///a.db", std::nullopt, "sqlite:///a.db"},
      {"sqlite:///a.db?schema=v3.0.0.d", SchemaRevision::kV3_0_0_d, "sqlite:///a.db"},
      {"sqlite:///a.db?schema=v3.2.0.a", SchemaRevision::kV3_2_0_a, "sqlite:///a.db"},
      {"postgresql://u@h/d?sslmode=disable&schema=v3.0.0.d&connect_timeout=5",
       SchemaRevision::kV3_0_0_d, "postgresql://u@h/d?sslmode=disable&connect_timeout=5"},
      {"postgresql://u@h/d?sslmode=disable", std::nullopt, "postgresql://u@h/d?sslmode=disable"},
  };
  for (const auto& c : cases) {
    std::string url = c.url;
    EXPECT_EQ(take_schema_option(url), c.revision) << c.url;
    EXPECT_EQ(url, c.rest) << c.url;
  }
}

TEST(SchemaRevisionOption, UnknownRevisionsAreRefusedNamingThemAndTheKnownOnes) {
  for (const std::string url : {"sqlite:///a.db?schema=v3.1.0.a", "sqlite:///a.db?schema=",
                                "postgresql://u:secret@h/d?schema=V3.2.0.A"}) {
    std::string taken = url;
    try {
      take_schema_option(taken);
      ADD_FAILURE() << url << " was accepted";
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("storage"), std::string::npos) << what;
      EXPECT_NE(what.find("v3.0.0.d (Optuna 3.0-3.1) and v3.2.0.a"), std::string::npos) << what;
      EXPECT_EQ(what.find("secret"), std::string::npos) << what;
    }
    EXPECT_EQ(taken, url);  // unchanged
  }
}

TEST(SchemaVersions, StudyTablesAreVersionInfoAndTrials) {
  EXPECT_TRUE(detail::has_study_tables({"version_info", "trials", "studies"}));
  EXPECT_FALSE(detail::has_study_tables({"version_info"}));
  EXPECT_FALSE(detail::has_study_tables({"trials", "other"}));
  EXPECT_FALSE(detail::has_study_tables({}));
}

TEST(RdbStorage, SqliteStorageWorksThroughTheSharedImplementation) {
  std::unique_ptr<RdbStorage> storage = std::make_unique<SqliteStorage>(":memory:");
  const int64_t study = storage->create_study("s", {StudyDirection::kMinimize});
  const int64_t trial = storage->create_trial(study);
  storage->set_trial_param(trial, "lr", 0.01, FloatDistribution{1e-4, 1.0, true});
  EXPECT_TRUE(storage->set_trial_state_values(trial, TrialState::kComplete, {0.5}));
  const FrozenTrial t = storage->trial(trial);
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_DOUBLE_EQ(t.internal_params.at("lr"), 0.01);
  EXPECT_EQ(RdbStorage::kSchemaVersion, SqliteStorage::kSchemaVersion);
}

}  // namespace
}  // namespace knob
