// SqliteStorage on real files: persistence, Optuna's schema as Optuna writes it (checked with
// the sqlite3 C API directly), refusing corrupt / foreign / other-version files without
// touching them, storage URLs, and many processes and threads sharing one file.
#include "knob/storage/sqlite_storage.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/open_storage.h"
#include "knob/storage/schema_revision.h"

namespace knob {
namespace {

namespace fs = std::filesystem;

constexpr double kInf = std::numeric_limits<double>::infinity();

::testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// ---------------------------------------------------------------- sqlite3 C API helpers

// Runs `sql` on the file with the sqlite3 C API; returns each row as its columns' text
// ("NULL" for NULL), columns joined by '|'.
std::vector<std::string> query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << path;
    return {};
  }
  sqlite3_stmt* stmt = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        if (c) row += '|';
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row += text ? text : "NULL";
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// Runs statements with the sqlite3 C API (creating the file), in the default rollback-journal
// mode, as SQLAlchemy/Optuna leave a file.
void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
  char* error = nullptr;
  int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(code, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// ---------------------------------------------------------------- files

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Everything that would show a file was touched: its bytes, its mtime, and the directory's
// entries (an SQLite open that writes leaves -wal / -shm / -journal files beside it).
struct Snapshot {
  std::string bytes;
  fs::file_time_type mtime;
  std::set<std::string> entries;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const std::string& path) {
  Snapshot s{read_bytes(path), fs::last_write_time(path), {}};
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    s.entries.insert(entry.path().filename().string());
  }
  return s;
}

class SqliteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "knob-sqlite-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Expects opening `file` to throw StorageError whose message contains `names`, and the file
// (and its directory) to be exactly as before.
void expect_refused_untouched(const std::string& file, const std::string& names) {
  Snapshot before = snapshot(file);
  try {
    SqliteStorage storage(file);
    ADD_FAILURE() << "opened " << file;
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), names));
  }
  EXPECT_TRUE(snapshot(file) == before) << "the file or its directory changed";
}

// ---------------------------------------------------------------- persistence and schema

TEST_F(SqliteFileTest, DataPersistsAcrossReopen) {
  const std::string file = path("study.db");
  int64_t trial_id;
  {
    SqliteStorage storage(file);
    int64_t study = storage.create_study("persist", {StudyDirection::kMaximize});
    storage.set_study_user_attr(study, "owner", "me");
    trial_id = storage.create_trial(study);
    storage.set_trial_param(trial_id, "lr", 0.01, FloatDistribution(1e-4, 1, true));
    storage.set_trial_intermediate_value(trial_id, 0, 0.5);
    storage.set_trial_user_attr(trial_id, "note", Json::array({1, "x"}));
    storage.set_trial_state_values(trial_id, TrialState::kComplete, {0.75});
  }
  SqliteStorage reopened(file);
  int64_t study = reopened.study_id_from_name("persist");
  EXPECT_EQ(reopened.study_directions(study),
            std::vector<StudyDirection>({StudyDirection::kMaximize}));
  EXPECT_EQ(dumps(reopened.study_user_attrs(study).at("owner")), "\"me\"");
  FrozenTrial t = reopened.trial(trial_id);
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(t.values, std::vector<double>({0.75}));
  EXPECT_EQ(t.param("lr"), ParamValue(0.01));
  EXPECT_EQ(t.intermediate_values, (std::map<int64_t, double>{{0, 0.5}}));
  EXPECT_EQ(dumps(t.user_attrs.at("note")), "[1, \"x\"]");
  EXPECT_EQ(reopened.trial(reopened.create_trial(study)).number, 1);
}

TEST_F(SqliteFileTest, FileHasOptunasTablesAndVersions) {
  const std::string file = path("schema.db");
  { SqliteStorage storage(file); }
  std::vector<std::string> tables =
      query(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, std::vector<std::string>({
                        "alembic_version",
                        "studies",
                        "study_directions",
                        "study_system_attributes",
                        "study_user_attributes",
                        "trial_heartbeats",
                        "trial_intermediate_values",
                        "trial_params",
                        "trial_system_attributes",
                        "trial_user_attributes",
                        "trial_values",
                        "trials",
                        "version_info",
                    }));
  EXPECT_EQ(query(file, "SELECT schema_version FROM version_info"),
            std::vector<std::string>({"12"}));
  EXPECT_EQ(query(file, "SELECT version_num FROM alembic_version"),
            std::vector<std::string>({"v3.2.0.a"}));
  EXPECT_EQ(SqliteStorage::kSchemaVersion, 12);
}

// ---------------------------------------------------------------- schema revisions

std::string alembic_revision(const std::string& file) {
  auto rows = query(file, "SELECT version_num FROM alembic_version");
  return rows.size() == 1 ? rows[0] : "(" + std::to_string(rows.size()) + " rows)";
}

// The indexes on trials, by name.
std::vector<std::string> trial_indexes(const std::string& file) {
  return query(file,
               "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'trials' "
               "AND sql IS NOT NULL ORDER BY name");
}

TEST_F(SqliteFileTest, NewFilesAreAtTheRevisionAskedForDefaultV320a) {
  const struct {
    std::string url_suffix;
    std::string revision;
    std::vector<std::string> indexes;
  } cases[] = {
      {"", "v3.2.0.a", {"ix_trials_study_id", "ix_trials_study_id_knob", "ix_trials_waiting_knob"}},
      {"?schema=v3.2.0.a",
       "v3.2.0.a",
       {"ix_trials_study_id", "ix_trials_study_id_knob", "ix_trials_waiting_knob"}},
      {"?schema=v3.0.0.d", "v3.0.0.d", {"ix_trials_study_id_knob", "ix_trials_waiting_knob"}},
      {"?timeout=30&schema=v3.0.0.d",
       "v3.0.0.d",
       {"ix_trials_study_id_knob", "ix_trials_waiting_knob"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url_suffix);
    const std::string file = path("new" + std::to_string(n++) + ".db");
    auto storage = open_storage("sqlite:///" + file + c.url_suffix);
    EXPECT_EQ(schema_revision_name(dynamic_cast<RdbStorage&>(*storage).schema_revision()),
              c.revision);
    EXPECT_EQ(alembic_revision(file), c.revision);
    EXPECT_EQ(query(file, "SELECT schema_version FROM version_info"),
              std::vector<std::string>({"12"}));
    EXPECT_EQ(trial_indexes(file), c.indexes);
  }
  SqliteStorage old_revision(path("ctor.db"), 1000, SchemaRevision::kV3_0_0_d);
  EXPECT_EQ(alembic_revision(path("ctor.db")), "v3.0.0.d");
}

TEST_F(SqliteFileTest, ExistingFilesKeepTheirRevision) {
  const std::string file = path("old.db");
  int64_t study;
  {
    auto storage = open_storage("sqlite:///" + file + "?schema=v3.0.0.d");
    study = storage->create_study("s", {StudyDirection::kMinimize});
  }
  for (int i = 0; i < 2; ++i) {  // opened without the option, and written to
    SqliteStorage storage(file);
    EXPECT_EQ(storage.schema_revision(), SchemaRevision::kV3_0_0_d);
    storage.set_trial_state_values(storage.create_trial(study), TrialState::kComplete, {1.0});
  }
  EXPECT_EQ(alembic_revision(file), "v3.0.0.d");
  EXPECT_EQ(query(file, "SELECT count(*) FROM trials"), std::vector<std::string>({"2"}));

  // Asking for the other revision refuses the file, untouched.
  const Snapshot before = snapshot(file);
  try {
    open_storage("sqlite:///" + file + "?schema=v3.2.0.a");
    ADD_FAILURE() << "opened";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(),
                           "at alembic revision v3.0.0.d but its URL asks for "
                           "?schema=v3.2.0.a"));
    EXPECT_TRUE(has_substr(e.what(), "knob storage upgrade"));
  }
  EXPECT_TRUE(snapshot(file) == before);
}

TEST_F(SqliteFileTest, UpgradeBringsV300dToV320aAndKeepsTheData) {
  const std::string file = path("up.db");
  const std::string url = "sqlite:///" + file;
  int64_t study;
  {
    auto storage = open_storage(url + "?schema=v3.0.0.d");
    study = storage->create_study("s", {StudyDirection::kMaximize});
    int64_t trial = storage->create_trial(study);
    storage->set_trial_param(trial, "lr", 0.01, FloatDistribution(1e-4, 1, true));
    storage->set_trial_state_values(trial, TrialState::kComplete, {0.5});
  }
  SchemaUpgrade done = upgrade_schema(url);
  EXPECT_TRUE(done.changed);
  EXPECT_EQ(done.from, SchemaRevision::kV3_0_0_d);
  EXPECT_EQ(done.to, SchemaRevision::kV3_2_0_a);
  EXPECT_TRUE(has_substr(done.message, url + " upgraded from alembic revision v3.0.0.d to "
                                             "v3.2.0.a"));
  EXPECT_EQ(alembic_revision(file), "v3.2.0.a");
  EXPECT_EQ(query(file, "SELECT schema_version, library_version FROM version_info"),
            std::vector<std::string>({"12|3.2.0"}));
  // Optuna's revision v3.2.0.a names its index trials_study_id_key.
  EXPECT_EQ(trial_indexes(file),
            std::vector<std::string>(
                {"ix_trials_study_id_knob", "ix_trials_waiting_knob", "trials_study_id_key"}));
  SqliteStorage reopened(file);
  EXPECT_EQ(reopened.schema_revision(), SchemaRevision::kV3_2_0_a);
  EXPECT_EQ(reopened.trials(study).at(0).values, std::vector<double>({0.5}));

  // Already current: says so and changes nothing.
  const Snapshot before = snapshot(file);
  done = upgrade_schema(url);
  EXPECT_FALSE(done.changed);
  EXPECT_TRUE(has_substr(done.message, "already at alembic revision v3.2.0.a"));
  EXPECT_TRUE(snapshot(file) == before);
}

// The bad-input table of the schema revisions: opening and upgrading each refuses it naming
// the file (and its revision), and leaves it byte-identical.
TEST_F(SqliteFileTest, BadDatabasesAreRefusedByOpenAndUpgradeAndLeftUntouched) {
  const std::string optuna_tables =
      "CREATE TABLE version_info (version_info_id INTEGER NOT NULL PRIMARY KEY, "
      "schema_version INTEGER, library_version VARCHAR(256));"
      "CREATE TABLE trials (trial_id INTEGER NOT NULL PRIMARY KEY, number INTEGER, "
      "study_id INTEGER, state VARCHAR(8) NOT NULL, datetime_start DATETIME, "
      "datetime_complete DATETIME);"
      "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);";
  const struct {
    const char* name;
    std::string sql;    // run on a new file; empty: the file holds `bytes`
    std::string bytes;  // the file, when sql is empty
    const char* names;  // in both errors
  } cases[] = {
      {"future revision",
       optuna_tables + "INSERT INTO version_info VALUES (1, 12, '5.1.0');"
                       "INSERT INTO alembic_version VALUES ('v5.1.0.a');",
       "", "alembic revision v5.1.0.a is not one knob knows"},
      {"future schema version",
       optuna_tables + "INSERT INTO version_info VALUES (1, 13, '6.0.0');"
                       "INSERT INTO alembic_version VALUES ('v3.2.0.a');",
       "", "schema version 13, alembic revision v3.2.0.a is not one knob knows"},
      {"older revision",
       optuna_tables + "INSERT INTO version_info VALUES (1, 11, '2.10.0');"
                       "INSERT INTO alembic_version VALUES ('v2.6.0.a');",
       "", "optuna storage upgrade"},
      {"non-Optuna database",
       "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
       "INSERT INTO users (name) VALUES ('ada');",
       "", "not an Optuna/knob study database"},
      {"not a database", "", "hello, this is not a database\n", "not a database"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = path(std::string(c.name) + ".db");
    if (c.sql.empty()) {
      write_bytes(file, c.bytes);
    } else {
      exec(file, c.sql);
    }
    const std::string bytes = read_bytes(file);
    const Snapshot before = snapshot(file);
    for (const bool upgrade : {false, true}) {
      try {
        if (upgrade) {
          upgrade_schema("sqlite:///" + file);
        } else {
          open_storage("sqlite:///" + file);
        }
        ADD_FAILURE() << (upgrade ? "upgraded" : "opened");
      } catch (const StorageError& e) {
        EXPECT_TRUE(has_substr(e.what(), file));
        EXPECT_TRUE(has_substr(e.what(), c.names));
        if (std::string(c.names).find("not one knob knows") != std::string::npos) {
          EXPECT_TRUE(has_substr(e.what(), "v3.0.0.d (Optuna 3.0-3.1) and v3.2.0.a"));
        }
      }
      EXPECT_TRUE(snapshot(file) == before);
      EXPECT_EQ(read_bytes(file), bytes);
    }
  }
}

TEST_F(SqliteFileTest, UpgradeRefusesWhatIsNoDatabaseWithoutCreatingIt) {
  const std::string missing = path("missing.db");
  try {
    upgrade_schema("sqlite:///" + missing);
    ADD_FAILURE() << "upgraded";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), missing + ": no such SQLite file"));
  }
  EXPECT_FALSE(fs::exists(missing));
  const std::string empty = path("empty.db");
  write_bytes(empty, "");
  EXPECT_THROW(upgrade_schema("sqlite:///" + empty), StorageError);
  EXPECT_EQ(read_bytes(empty), "");
  const std::vector<std::string> not_databases = {"", ":memory:", "sqlite:///", "mysql://u@h/d",
                                                  "sqlite:///" + empty + "?schema=v3.2.0.a"};
  for (const std::string& url : not_databases) {
    EXPECT_THROW(upgrade_schema(url), InvalidArgument) << url;
  }
}

TEST_F(SqliteFileTest, RowsAreStoredAsOptunaStoresThem) {
  const std::string file = path("rows.db");
  const FloatDistribution lr(1e-4, 1, true);
  const CategoricalDistribution opt({std::string("sgd"), std::string("adam")});
  {
    SqliteStorage storage(file);
    int64_t study =
        storage.create_study("rows", {StudyDirection::kMinimize, StudyDirection::kMaximize});
    int64_t id = storage.create_trial(study);
    storage.set_trial_param(id, "lr", 0.01, lr);
    storage.set_trial_param(id, "opt", 1, opt);
    storage.set_trial_intermediate_value(id, 0, std::nan(""));
    storage.set_trial_intermediate_value(id, 1, -kInf);
    storage.set_trial_intermediate_value(id, 2, 0.5);
    storage.set_trial_user_attr(id, "a", Json::object({{"k", std::nan("")}}));
    storage.set_trial_state_values(id, TrialState::kComplete, {kInf, -kInf});
  }
  EXPECT_EQ(query(file, "SELECT direction, objective FROM study_directions ORDER BY objective"),
            std::vector<std::string>({"MINIMIZE|0", "MAXIMIZE|1"}));
  std::vector<std::string> trial = query(file, "SELECT number, state FROM trials");
  EXPECT_EQ(trial, std::vector<std::string>({"0|COMPLETE"}));
  // Optuna asserts value IS NULL for infinite values (TrialValueModel.stored_repr_to_value).
  EXPECT_EQ(query(file,
                  "SELECT objective, value IS NULL, value_type FROM trial_values "
                  "ORDER BY objective"),
            std::vector<std::string>({"0|1|INF_POS", "1|1|INF_NEG"}));
  EXPECT_EQ(query(file,
                  "SELECT step, intermediate_value, intermediate_value_type "
                  "FROM trial_intermediate_values ORDER BY step"),
            std::vector<std::string>({"0|NULL|NAN", "1|NULL|INF_NEG", "2|0.5|FINITE"}));
  EXPECT_EQ(query(file,
                  "SELECT param_name, param_value, distribution_json FROM trial_params "
                  "ORDER BY param_name"),
            std::vector<std::string>(
                {"lr|0.01|" + distribution_to_json(lr), "opt|1.0|" + distribution_to_json(opt)}));
  EXPECT_EQ(query(file, "SELECT value_json FROM trial_user_attributes"),
            std::vector<std::string>({R"({"k": NaN})"}));
  // "YYYY-MM-DD HH:MM:SS.ffffff": parsing and formatting again gives the same text.
  auto times = query(file,
                     "SELECT datetime_start FROM trials UNION ALL "
                     "SELECT datetime_complete FROM trials");
  ASSERT_EQ(times.size(), 2u);
  for (const auto& text : times) {
    SCOPED_TRACE(text);
    ASSERT_EQ(text.size(), 26u);
    auto parsed = parse_datetime(text);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(format_datetime(*parsed), text);
  }
}

// A trial created or claimed with its heartbeat has its trial_heartbeats row when the call
// returns, in Optuna's form (CURRENT_TIMESTAMP: UTC, whole seconds); one made RUNNING without
// it has none, as in Optuna.
TEST_F(SqliteFileTest, FirstHeartbeatIsStoredWithTheTrialAsOptunaStoresHeartbeats) {
  const std::string file = path("beats.db");
  SqliteStorage storage(file);
  int64_t study = storage.create_study("beats", {StudyDirection::kMinimize});
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  for (bool with_heartbeat : {true, false}) {
    storage.create_trial(study, nullptr, with_heartbeat);
    storage.create_trial(study, &waiting);
    ASSERT_TRUE(storage.claim_waiting_trial(study, with_heartbeat).has_value());
  }
  EXPECT_EQ(query(file,
                  "SELECT t.number, t.state, h.heartbeat = datetime(h.heartbeat), "
                  "abs(julianday(h.heartbeat) - julianday('now')) * 86400 < 5 "
                  "FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
                  "ORDER BY t.number"),
            std::vector<std::string>({"0|RUNNING|1|1", "1|RUNNING|1|1"}));
  EXPECT_EQ(query(file, "SELECT count(*) FROM trials WHERE state = 'RUNNING'"),
            std::vector<std::string>({"4"}));
}

TEST_F(SqliteFileTest, ReadsValuesWrittenInOptunasOwnRepresentation) {
  const std::string file = path("optuna-rows.db");
  int64_t trial_id;
  {
    SqliteStorage storage(file);
    trial_id = storage.create_trial(storage.create_study("s", {StudyDirection::kMinimize}));
  }
  // As SQLAlchemy would write them for Optuna: infinities as NULL + a tag.
  exec(file, "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (" +
                 std::to_string(trial_id) +
                 ", 0, NULL, 'INF_NEG');"
                 "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                 "intermediate_value_type) VALUES (" +
                 std::to_string(trial_id) +
                 ", 4, NULL, 'INF_POS');"
                 "UPDATE trials SET state = 'COMPLETE', datetime_complete = '2024-05-06 "
                 "07:08:09.123456'");
  SqliteStorage storage(file);
  FrozenTrial t = storage.trial(trial_id);
  EXPECT_EQ(t.values, std::vector<double>({-kInf}));
  EXPECT_EQ(t.intermediate_values, (std::map<int64_t, double>{{4, kInf}}));
  ASSERT_TRUE(t.datetime_complete.has_value());
  EXPECT_EQ(format_datetime(*t.datetime_complete), "2024-05-06 07:08:09.123456");
}

// ---------------------------------------------------------------- refusing other files

TEST_F(SqliteFileTest, CorruptFilesAreRefusedAndLeftUntouched) {
  std::mt19937_64 rng(1234);
  auto random_bytes = [&](size_t n) {
    std::string bytes(n, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    return bytes;
  };
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"random bytes", random_bytes(8192)},
      {"text", "hello, this is not a database\n"},
      {"SQLite header then garbage", std::string("SQLite format 3", 16) + random_bytes(4080)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = path(std::string(c.name) + ".db");
    write_bytes(file, c.bytes);
    expect_refused_untouched(file, file);
    EXPECT_EQ(read_bytes(file), c.bytes);
  }
}

TEST_F(SqliteFileTest, ForeignDatabaseIsRefusedAndLeftUntouched) {
  const std::string file = path("foreign.db");
  exec(file,
       "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
       "INSERT INTO users (name) VALUES ('ada'), ('grace');");
  expect_refused_untouched(file, "not an Optuna/knob study database");
  EXPECT_EQ(query(file, "SELECT name FROM users ORDER BY id"),
            std::vector<std::string>({"ada", "grace"}));
}

TEST_F(SqliteFileTest, OtherSchemaVersionIsRefusedNamingItAndLeftUntouched) {
  struct Case {
    const char* name;
    const char* schema_version;
    const char* revision;
    const char* names;
  };
  const std::vector<Case> cases = {
      {"older schema", "11", "v2.6.0.a", "schema version 11, alembic revision v2.6.0.a"},
      {"newer alembic revision", "12", "v3.3.0.a", "schema version 12, alembic revision v3.3.0.a"},
      {"no schema version", "NULL", "v3.0.0.d", "schema version (none)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = path(std::string(c.name) + ".db");
    exec(file,
         std::string("CREATE TABLE version_info (version_info_id INTEGER NOT NULL PRIMARY KEY, "
                     "schema_version INTEGER, library_version VARCHAR(256));"
                     "CREATE TABLE trials (trial_id INTEGER NOT NULL PRIMARY KEY, number INTEGER, "
                     "study_id INTEGER, state VARCHAR(8) NOT NULL, datetime_start DATETIME, "
                     "datetime_complete DATETIME);"
                     "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);"
                     "INSERT INTO version_info VALUES (1, ") +
             c.schema_version + ", '2.10.0');INSERT INTO alembic_version VALUES ('" + c.revision +
             "');");
    expect_refused_untouched(file, c.names);
  }
}

TEST_F(SqliteFileTest, MissingDirectoryIsStorageError) {
  EXPECT_THROW(SqliteStorage(path("no/such/dir/x.db")), StorageError);
}

TEST_F(SqliteFileTest, EmptyFileBecomesAStudyDatabase) {
  const std::string file = path("empty.db");
  write_bytes(file, "");
  SqliteStorage storage(file);
  EXPECT_EQ(storage.create_study("s", {StudyDirection::kMinimize}), 1);
  EXPECT_EQ(query(file, "SELECT schema_version FROM version_info"),
            std::vector<std::string>({"12"}));
}

// ---------------------------------------------------------------- storage URLs

TEST_F(SqliteFileTest, OpenStorageUnderstandsOptunasUrls) {
  EXPECT_NE(dynamic_cast<InMemoryStorage*>(open_storage("").get()), nullptr);
  EXPECT_NE(dynamic_cast<InMemoryStorage*>(open_storage(":memory:").get()), nullptr);

  const std::string absolute = path("abs.db");
  ASSERT_EQ(absolute[0], '/');
  auto abs_storage = open_storage("sqlite:///" + absolute);  // sqlite:////tmp/...
  EXPECT_NE(dynamic_cast<SqliteStorage*>(abs_storage.get()), nullptr);
  abs_storage->create_study("abs", {StudyDirection::kMinimize});
  EXPECT_TRUE(fs::exists(absolute));

  const std::string relative = fs::relative(path("rel.db"), fs::current_path()).string();
  ASSERT_NE(relative[0], '/');
  open_storage("sqlite:///" + relative)->create_study("rel", {StudyDirection::kMinimize});
  EXPECT_EQ(query(path("rel.db"), "SELECT study_name FROM studies"),
            std::vector<std::string>({"rel"}));

  // SQLAlchemy query options are accepted and ignored.
  open_storage("sqlite:///" + absolute + "?timeout=30")->study_id_from_name("abs");
}

TEST(OpenStorage, MalformedUrlsAreInvalidArgumentNamingTheUrl) {
  const std::vector<std::string> urls = {
      "sqlite:///",         "sqlite://",         "sqlite:/x.db",  "sqlite:x.db",
      "SQLITE:///x.db",     "study.db",          "/tmp/study.db", "mysql://u@h/db",
      "postgresql+://h/db", "redis://localhost", "memory",        " sqlite:///x.db",
  };
  for (const auto& url : urls) {
    SCOPED_TRACE(url);
    try {
      open_storage(url);
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      EXPECT_TRUE(has_substr(e.what(), "storage = \"" + url + "\""));
    }
  }
}

// ---------------------------------------------------------------- sharing one file

// Runs work(worker) in `n` forked child processes and returns their exit codes (0 = the
// work returned, 1 = it threw). Plain fork() is fine: this binary runs no other threads
// meanwhile, and each child opens its own connection after the fork.
std::vector<int> run_processes(int n, const std::function<void(int)>& work) {
  std::vector<pid_t> pids;
  for (int w = 0; w < n; ++w) {
    pid_t pid = fork();
    if (pid == 0) {
      int code = 0;
      try {
        work(w);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "worker %d: %s\n", w, e.what());
        code = 1;
      }
      std::fflush(stderr);
      _exit(code);  // no atexit handlers, no destructors of the parent's objects
    }
    pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

// Creates `per_worker` complete trials tagged with the worker, as any worker of a study does.
void create_tagged_trials(Storage& storage, int64_t study, int worker, int per_worker) {
  for (int i = 0; i < per_worker; ++i) {
    int64_t id = storage.create_trial(study);
    storage.set_trial_param(id, "worker", worker, IntDistribution(0, 63));
    storage.set_trial_param(id, "x", i / 100.0, FloatDistribution(0, 1));
    storage.set_trial_state_values(id, TrialState::kComplete, {worker * 1000.0 + i});
  }
}

// Every worker's trials are there, complete, and numbered 0..N-1 without gaps or repeats.
void expect_all_trials(Storage& storage, int64_t study, int workers, int per_worker) {
  auto trials = storage.trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(workers * per_worker));
  std::set<double> values;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::kComplete);
    ASSERT_EQ(trials[i].values.size(), 1u);
    values.insert(trials[i].values[0]);
    int64_t worker = std::get<int64_t>(trials[i].param("worker"));
    EXPECT_EQ(static_cast<int64_t>(trials[i].values[0]) / 1000, worker);
  }
  std::set<double> expected;
  for (int w = 0; w < workers; ++w) {
    for (int i = 0; i < per_worker; ++i) expected.insert(w * 1000.0 + i);
  }
  EXPECT_EQ(values, expected);
}

TEST_F(SqliteFileTest, ProcessesCreatingTrialsGetDistinctConsecutiveNumbers) {
  const std::string file = path("processes.db");
  const int workers = 4, per_worker = 50;
  int64_t study;
  {
    SqliteStorage storage(file);
    study = storage.create_study("shared", {StudyDirection::kMinimize});
  }
  auto codes = run_processes(workers, [&](int w) {
    SqliteStorage storage(file);
    create_tagged_trials(storage, study, w, per_worker);
  });
  EXPECT_EQ(codes, std::vector<int>(workers, 0));
  SqliteStorage storage(file);
  expect_all_trials(storage, study, workers, per_worker);
}

TEST_F(SqliteFileTest, ProcessesOpeningANewFileTogetherCreateTheSchemaOnce) {
  const std::string file = path("fresh.db");
  const int workers = 4, per_worker = 10;
  auto codes = run_processes(workers, [&](int w) {
    SqliteStorage storage(file);
    int64_t study;
    try {
      study = storage.create_study("together", {StudyDirection::kMinimize});
    } catch (const AlreadyExists&) {
      study = storage.study_id_from_name("together");
    }
    create_tagged_trials(storage, study, w, per_worker);
  });
  EXPECT_EQ(codes, std::vector<int>(workers, 0));
  EXPECT_EQ(query(file, "SELECT COUNT(*) FROM version_info"), std::vector<std::string>({"1"}));
  EXPECT_EQ(query(file, "SELECT COUNT(*) FROM alembic_version"), std::vector<std::string>({"1"}));
  SqliteStorage storage(file);
  ASSERT_EQ(storage.all_studies().size(), 1u);
  expect_all_trials(storage, storage.study_id_from_name("together"), workers, per_worker);
}

TEST_F(SqliteFileTest, ThreadsSharingOneStorageGetDistinctConsecutiveNumbers) {
  SqliteStorage storage(path("threads.db"));
  int64_t study = storage.create_study("threads", {StudyDirection::kMinimize});
  const int workers = 4, per_worker = 50;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] { create_tagged_trials(storage, study, w, per_worker); });
  }
  for (auto& t : threads) t.join();
  expect_all_trials(storage, study, workers, per_worker);
}

TEST_F(SqliteFileTest, TwoConnectionsInOneProcessSeeEachOthersWrites) {
  SqliteStorage a(path("two.db")), b(path("two.db"));
  int64_t study = a.create_study("s", {StudyDirection::kMinimize});
  int64_t id = b.create_trial(study);
  a.set_trial_state_values(id, TrialState::kComplete, {1.0});
  EXPECT_EQ(b.trial(id).state, TrialState::kComplete);
  EXPECT_EQ(a.trial(b.create_trial(study)).number, 1);
}

TEST_F(SqliteFileTest, ProcessesClaimEachWaitingTrialExactlyOnce) {
  const std::string file = path("claims.db");
  const int workers = 4, waiting = 60;
  int64_t study;
  std::set<int64_t> enqueued;
  {
    SqliteStorage storage(file);
    study = storage.create_study("claims", {StudyDirection::kMinimize});
    FrozenTrial templ;
    templ.state = TrialState::kWaiting;
    for (int i = 0; i < waiting; ++i) enqueued.insert(storage.create_trial(study, &templ));
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto codes = run_processes(workers, [&](int w) {
    close(fds[0]);
    SqliteStorage storage(file);
    while (auto id = storage.claim_waiting_trial(study)) {
      int64_t claimed = *id;  // 8 bytes < PIPE_BUF: each write is atomic
      if (write(fds[1], &claimed, sizeof claimed) != sizeof claimed) throw Error("pipe write");
      storage.set_trial_state_values(claimed, TrialState::kComplete, {static_cast<double>(w)});
    }
  });
  close(fds[1]);
  std::multiset<int64_t> claimed;
  int64_t id;
  while (read(fds[0], &id, sizeof id) == sizeof id) claimed.insert(id);
  close(fds[0]);
  EXPECT_EQ(codes, std::vector<int>(workers, 0));
  EXPECT_EQ(claimed.size(), static_cast<size_t>(waiting));
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()), enqueued);
  SqliteStorage storage(file);
  EXPECT_EQ(storage.n_trials(study, TrialState::kComplete), waiting);
}

}  // namespace
}  // namespace knob
