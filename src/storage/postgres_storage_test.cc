// PostgresStorage beyond the shared contract (storage_test.cc): URLs and their errors,
// several connections at once (as workers on many machines), and a dropped connection.
// Tests that need a server skip without KNOB_TEST_POSTGRES_URL (scripts/pg_test_server).
#include "knob/storage/postgres_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"
#include "knob/storage/schema_revision.h"
#include "postgres_test_support.h"

namespace knob {
namespace {

::testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' not in: " << text;
}

// Skips the test unless a server was given; otherwise a fresh database's URL.
#define KNOB_FRESH_DATABASE(url)                                    \
  auto server = testing::postgres_test_url();                       \
  if (!server) GTEST_SKIP() << "KNOB_TEST_POSTGRES_URL is not set"; \
  const std::string url = testing::fresh_postgres_database(*server)

// ---------------------------------------------------------------- URLs (no server needed)

TEST(PostgresUrl, PasswordsAreRedacted) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"postgresql://knob:s3cret@db:5432/studies", "postgresql://knob:***@db:5432/studies"},
      {"postgresql+psycopg2://knob:p%40ss@db/s", "postgresql+psycopg2://knob:***@db/s"},
      {"postgresql://knob@db/s?password=s3cret&sslmode=require",
       "postgresql://knob@db/s?password=***&sslmode=require"},
      {"postgresql://knob@db/s", "postgresql://knob@db/s"},
      {"postgresql://db:5432/s", "postgresql://db:5432/s"},
  };
  for (const auto& [url, shown] : cases) {
    SCOPED_TRACE(url);
    EXPECT_EQ(PostgresStorage::redacted_url(url), shown);
  }
}

TEST(PostgresUrl, MalformedUrlsAreInvalidArgumentNamingTheUrlWithoutPassword) {
  struct Case {
    std::string url;
    std::string shown;   // as the message must name it
    std::string reason;  // what the message must say is wrong
  };
  const std::vector<Case> cases = {
      {"postgresql+://knob@h/db", "postgresql+://knob@h/db", "postgresql://USER"},
      {"postgresql:/h/db", "postgresql:/h/db", "postgresql://USER"},
      {"postgresql://knob:s3cret@h:port/db", "postgresql://knob:***@h:port/db",
       "'port' is not a number"},
      {"postgresql://knob@h/db?no_such_option=1", "postgresql://knob@h/db?no_such_option=1",
       "no_such_option"},
      {"postgresql://knob@[::1/db", "postgresql://knob@[::1/db", "IPv6"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    try {
      open_storage(c.url);
      ADD_FAILURE() << "no exception";
    } catch (const InvalidArgument& e) {
      EXPECT_TRUE(has_substr(e.what(), "storage = \"" + c.shown + "\""));
      EXPECT_TRUE(has_substr(e.what(), c.reason));
      EXPECT_FALSE(has_substr(e.what(), "s3cret"));
    }
  }
}

TEST(PostgresUrl, UnreachableServerIsStorageErrorNamingTheUrl) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  const std::string url = "postgresql+psycopg2://knob:s3cret@127.0.0.1:1/studies";
  try {
    open_storage(url);
    ADD_FAILURE() << "no exception";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), "postgresql+psycopg2://knob:***@127.0.0.1:1/studies"));
    EXPECT_TRUE(has_substr(e.what(), "cannot connect"));
    EXPECT_TRUE(has_substr(e.what(), "refused"));
    EXPECT_FALSE(has_substr(e.what(), "s3cret"));
  }
}

// ---------------------------------------------------------------- server errors

TEST(PostgresServer, WrongPasswordIsStorageErrorWithoutThePassword) {
  const char* good = std::getenv("KNOB_TEST_POSTGRES_PASSWORD_URL");
  if (!good) GTEST_SKIP() << "KNOB_TEST_POSTGRES_PASSWORD_URL is not set";
  PostgresStorage ok(good);  // the right password connects
  std::string bad = good;
  bad.replace(bad.find(":secret@"), 8, ":wrong-pw@");
  try {
    PostgresStorage storage(bad);
    ADD_FAILURE() << "no exception";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), PostgresStorage::redacted_url(bad)));
    EXPECT_TRUE(has_substr(e.what(), "password authentication failed"));
    EXPECT_FALSE(has_substr(e.what(), "wrong-pw"));
  }
}

TEST(PostgresServer, MissingDatabaseIsStorageErrorNamingIt) {
  auto server = testing::postgres_test_url();
  if (!server) GTEST_SKIP() << "KNOB_TEST_POSTGRES_URL is not set";
  const std::string url = testing::with_database(*server, "no_such_db");
  try {
    PostgresStorage storage(url);
    ADD_FAILURE() << "no exception";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), url));
    EXPECT_TRUE(has_substr(e.what(), "\"no_such_db\" does not exist"));
  }
}

TEST(PostgresServer, ForeignDatabaseIsRefusedAndLeftUntouched) {
  KNOB_FRESH_DATABASE(url);
  detail::PostgresConnection raw(url, url);
  raw.exec("CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT)");
  try {
    PostgresStorage storage(url);
    ADD_FAILURE() << "no exception";
  } catch (const StorageError& e) {
    EXPECT_TRUE(has_substr(e.what(), "not an Optuna/knob study database"));
  }
  auto tables =
      raw.exec("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'");
  EXPECT_EQ(tables[0].int64(0), 1);
}

// The alembic revision and the trials indexes of a database, read directly.
std::string revision_and_indexes(detail::PostgresConnection& raw) {
  std::string out = raw.exec("SELECT version_num FROM alembic_version")[0].text(0);
  auto rows = raw.exec(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'trials' AND indexname NOT LIKE "
      "'%pkey' ORDER BY indexname");
  for (int i = 0; i < rows.size(); ++i) out += " " + rows[i].text(0);
  return out;
}

TEST(PostgresServer, NewDatabasesAreAtTheRevisionAskedForAndUpgradeBringsV300dToV320a) {
  KNOB_FRESH_DATABASE(url);
  const std::string old_url = testing::fresh_postgres_database(*server);
  { PostgresStorage create(url); }
  int64_t study;
  {
    auto old_storage = open_storage(old_url + "?schema=v3.0.0.d");
    study = old_storage->create_study("s", {StudyDirection::kMinimize});
    old_storage->set_trial_state_values(old_storage->create_trial(study), TrialState::kComplete,
                                        {2.0});
  }
  detail::PostgresConnection raw(url, url), old_raw(old_url, old_url);
  EXPECT_EQ(revision_and_indexes(raw),
            "v3.2.0.a ix_trials_study_id ix_trials_study_id_knob ix_trials_waiting_knob");
  EXPECT_EQ(revision_and_indexes(old_raw),
            "v3.0.0.d ix_trials_study_id_knob ix_trials_waiting_knob");
  EXPECT_EQ(PostgresStorage(old_url).schema_revision(), SchemaRevision::kV3_0_0_d);
  EXPECT_THROW(open_storage(old_url + "?schema=v3.2.0.a"), StorageError);

  SchemaUpgrade done = upgrade_schema(old_url);
  EXPECT_TRUE(done.changed);
  EXPECT_TRUE(has_substr(done.message, "upgraded from alembic revision v3.0.0.d to v3.2.0.a"));
  EXPECT_EQ(revision_and_indexes(old_raw),
            "v3.2.0.a ix_trials_study_id_knob ix_trials_waiting_knob trials_study_id_key");
  EXPECT_EQ(old_raw.exec("SELECT library_version FROM version_info")[0].text(0), "3.2.0");
  PostgresStorage upgraded(old_url);
  EXPECT_EQ(upgraded.schema_revision(), SchemaRevision::kV3_2_0_a);
  EXPECT_EQ(upgraded.trials(study).at(0).values, std::vector<double>({2.0}));
  done = upgrade_schema(old_url);
  EXPECT_FALSE(done.changed);
  EXPECT_TRUE(has_substr(done.message, "already at alembic revision v3.2.0.a"));
}

TEST(PostgresServer, OtherRevisionsAreRefusedByOpenAndUpgradeNamingThem) {
  const struct {
    int schema_version;
    const char* revision;
    const char* names;
    bool advice;  // an older revision Optuna 3.2+ upgrades
  } cases[] = {
      {11, "v2.6.0.a", "schema version 11, alembic revision v2.6.0.a", true},
      {12, "v5.0.0.a", "schema version 12, alembic revision v5.0.0.a is not one knob knows", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.revision);
    KNOB_FRESH_DATABASE(url);
    { PostgresStorage create(url); }
    detail::PostgresConnection raw(url, url);
    raw.exec("UPDATE version_info SET schema_version = " + std::to_string(c.schema_version));
    raw.exec(std::string("UPDATE alembic_version SET version_num = '") + c.revision + "'");
    const std::string before = revision_and_indexes(raw);
    for (const bool upgrade : {false, true}) {
      try {
        if (upgrade) {
          upgrade_schema(url);
        } else {
          PostgresStorage storage(url);
        }
        ADD_FAILURE() << "no exception";
      } catch (const StorageError& e) {
        EXPECT_TRUE(has_substr(e.what(), url));
        EXPECT_TRUE(has_substr(e.what(), c.names));
        EXPECT_TRUE(has_substr(e.what(), "v3.0.0.d (Optuna 3.0-3.1) and v3.2.0.a"));
        EXPECT_EQ(std::string(e.what()).find("optuna storage upgrade") != std::string::npos,
                  c.advice);
      }
      EXPECT_EQ(revision_and_indexes(raw), before);
    }
  }
}

TEST(PostgresServer, OpenStorageTakesSqlAlchemySpelling) {
  KNOB_FRESH_DATABASE(url);
  const std::string sqlalchemy = "postgresql+psycopg2://" + url.substr(url.find("://") + 3);
  int64_t id = open_storage(sqlalchemy)->create_study("s", {StudyDirection::kMinimize});
  EXPECT_EQ(open_storage(url)->study_id_from_name("s"), id);
}

TEST(PostgresServer, ServerSettingsDoNotChangeWhatIsRead) {
  KNOB_FRESH_DATABASE(url);
  const std::string database = url.substr(url.rfind('/') + 1);
  detail::PostgresConnection admin(*server, *server);
  // Dates as "22/11/2026 23:51:39.5" and doubles cut to 2 digits, unless knob sets its own.
  admin.exec("ALTER DATABASE " + database + " SET DateStyle = 'SQL, DMY'");
  admin.exec("ALTER DATABASE " + database + " SET extra_float_digits = -13");
  PostgresStorage storage(url);
  int64_t study = storage.create_study("s", {StudyDirection::kMinimize});
  auto before = std::chrono::time_point_cast<std::chrono::microseconds>(now());
  int64_t id = storage.create_trial(study);
  ASSERT_TRUE(storage.set_trial_state_values(id, TrialState::kComplete, {1.0 / 3.0}));
  FrozenTrial t = storage.trial(id);
  EXPECT_EQ(t.values, std::vector<double>({1.0 / 3.0}));
  ASSERT_TRUE(t.datetime_start.has_value());
  ASSERT_TRUE(t.datetime_complete.has_value());
  EXPECT_GE(*t.datetime_start, before);
  EXPECT_GE(*t.datetime_complete, *t.datetime_start);
}

TEST(PostgresServer, RoleThatCannotCreateIndexesStillOpensTheStudies) {
  KNOB_FRESH_DATABASE(url);
  const char* password_url = std::getenv("KNOB_TEST_POSTGRES_PASSWORD_URL");
  if (!password_url) GTEST_SKIP() << "KNOB_TEST_POSTGRES_PASSWORD_URL is not set";
  { PostgresStorage create(url); }
  detail::PostgresConnection owner(url, url);
  owner.exec("DROP INDEX ix_trials_study_id_knob; DROP INDEX ix_trials_waiting_knob");
  owner.exec(
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO knob_pw; "
      "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO knob_pw");
  const std::string as_user = testing::with_database(password_url, url.substr(url.rfind('/') + 1));
  PostgresStorage storage(as_user);
  int64_t study = storage.create_study("s", {StudyDirection::kMinimize});
  EXPECT_EQ(storage.trial(storage.create_trial(study)).number, 0);
  EXPECT_EQ(owner.exec("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%_knob'")[0].int64(0),
            0);
}

// ---------------------------------------------------------------- many connections

TEST(PostgresServer, ManyProcessesOpeningANewDatabaseCreateTheSchemaOnce) {
  KNOB_FRESH_DATABASE(url);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      try {
        PostgresStorage storage(url);
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  detail::PostgresConnection raw(url, url);
  EXPECT_EQ(raw.exec("SELECT count(*) FROM version_info")[0].int64(0), 1);
}

TEST(PostgresServer, ConnectionsCreatingTrialsAtOnceGetDistinctConsecutiveNumbers) {
  KNOB_FRESH_DATABASE(url);
  int64_t study = PostgresStorage(url).create_study("s", {StudyDirection::kMinimize});
  const int workers = 6, per_worker = 15;
  std::vector<std::vector<int64_t>> created(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      PostgresStorage storage(url);  // its own connection, as another machine's worker
      for (int i = 0; i < per_worker; ++i) created[w].push_back(storage.create_trial(study));
    });
  }
  for (auto& t : threads) t.join();
  auto trials = PostgresStorage(url).trials(study);
  ASSERT_EQ(trials.size(), static_cast<size_t>(workers * per_worker));
  std::set<int64_t> ids;
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    ids.insert(trials[i].trial_id);
  }
  std::set<int64_t> returned;
  for (const auto& mine : created) returned.insert(mine.begin(), mine.end());
  EXPECT_EQ(returned, ids);
}

TEST(PostgresServer, ConnectionsClaimingAtOnceGetEachWaitingTrialOnce) {
  KNOB_FRESH_DATABASE(url);
  PostgresStorage setup(url);
  int64_t study = setup.create_study("s", {StudyDirection::kMinimize});
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  const int n = 60;
  std::set<int64_t> enqueued;
  for (int i = 0; i < n; ++i) enqueued.insert(setup.create_trial(study, &waiting));
  std::vector<std::vector<int64_t>> claimed(6);
  std::vector<std::thread> threads;
  for (auto& mine : claimed) {
    threads.emplace_back([&, out = &mine] {
      PostgresStorage storage(url);
      while (auto id = storage.claim_waiting_trial(study)) out->push_back(*id);
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<int64_t> all;
  for (const auto& mine : claimed) all.insert(mine.begin(), mine.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(n));
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()), enqueued);
  EXPECT_EQ(setup.n_trials(study, TrialState::kWaiting), 0);
}

TEST(PostgresServer, CreateTrialsOnceFromManyConnectionsCreatesOnce) {
  KNOB_FRESH_DATABASE(url);
  int64_t study = PostgresStorage(url).create_study("s", {StudyDirection::kMinimize});
  std::vector<FrozenTrial> grid(5);
  for (auto& t : grid) t.state = TrialState::kWaiting;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back(
        [&] { created += PostgresStorage(url).create_trials_once(study, "g", grid); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(PostgresStorage(url).n_trials(study), 5);
}

// The first heartbeat is written in the transaction that makes the trial RUNNING: another
// session never sees a RUNNING trial without its trial_heartbeats row (were it written after,
// a worker killed in between would leave a trial that never goes stale).
TEST(PostgresServer, NoSessionSeesATrialMadeRunningWithoutItsFirstHeartbeat) {
  KNOB_FRESH_DATABASE(url);
  PostgresStorage storage(url);
  int64_t study = storage.create_study("s", {StudyDirection::kMinimize});
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  const int n = 40;
  for (int i = 0; i < n; ++i) storage.create_trial(study, &waiting);
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  int64_t bare = 0;
  std::thread reader([&] {
    detail::PostgresConnection raw(url, url);
    while (!done) {
      auto r = raw.exec(
          "SELECT count(*) FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
          "WHERE t.state = 'RUNNING' AND h.trial_id IS NULL");
      bare += r[0].int64(0);
      ++reads;
    }
  });
  while (reads == 0) std::this_thread::yield();  // the reader is connected and reading
  for (int i = 0; i < n; ++i) {
    storage.create_trial(study, nullptr, /*with_heartbeat=*/true);
    EXPECT_TRUE(storage.claim_waiting_trial(study, /*with_heartbeat=*/true).has_value());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bare, 0) << "over " << reads << " reads";
  detail::PostgresConnection raw(url, url);
  EXPECT_EQ(raw.exec("SELECT count(*) FROM trial_heartbeats")[0].int64(0), 2 * n);
}

// ---------------------------------------------------------------- a dropped connection

TEST(PostgresServer, TerminatedConnectionIsReopenedAndTheCallRetried) {
  KNOB_FRESH_DATABASE(url);
  PostgresStorage storage(url);
  detail::PostgresConnection admin(*server, *server);
  int64_t study = storage.create_study("s", {StudyDirection::kMinimize});
  // Each kind of call after the server ended the session: a read, a write, a claim.
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"read", [&] { EXPECT_EQ(storage.study_name_from_id(study), "s"); }},
      {"create_trial", [&] { EXPECT_EQ(storage.trial(storage.create_trial(study)).number, 0); }},
      {"finish",
       [&] {
         EXPECT_TRUE(storage.set_trial_state_values(storage.trial_id_from_number(study, 0),
                                                    TrialState::kComplete, {1.5}));
       }},
      {"claim", [&] { EXPECT_EQ(storage.claim_waiting_trial(study), std::nullopt); }},
  };
  for (const auto& [name, call] : calls) {
    SCOPED_TRACE(name);
    int pid = storage.backend_pid();
    auto killed = admin.exec("SELECT pg_terminate_backend($1)", {detail::pg_param(int64_t{pid})});
    ASSERT_EQ(killed[0].text(0), "t");
    call();
    EXPECT_NE(storage.backend_pid(), pid);  // a new session
  }
  EXPECT_EQ(storage.n_trials(study, TrialState::kComplete), 1);
}

}  // namespace
}  // namespace knob
