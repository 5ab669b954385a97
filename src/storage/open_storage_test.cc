#include "knob/storage/open_storage.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "knob/core/error.h"
#include "testing/test_support.h"

namespace knob {
namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string journal_mode(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
  std::string mode = sqlite3_step(stmt) == SQLITE_ROW
                         ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))
                         : "";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return mode;
}

void set_journal_mode(const std::string& path, const std::string& mode) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  sqlite3_exec(db, ("PRAGMA journal_mode = " + mode).c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

// A study database as Optuna may leave it: rollback-journal mode, two studies.
std::string make_database(const testing::TempDir& dir) {
  const std::string path = dir.file("optuna.db");
  {
    auto storage = open_storage("sqlite:///" + path);
    storage->create_study("keep", {StudyDirection::kMinimize});
    storage->create_study("drop", {StudyDirection::kMaximize});
  }
  set_journal_mode(path, "DELETE");
  EXPECT_EQ(journal_mode(path), "delete");
  return path;
}

TEST(OpenStorageTest, ReadOnlyChangesNoByte) {
  testing::TempDir dir;
  const std::string path = make_database(dir);
  const std::string before = bytes_of(path);
  {
    auto storage = open_storage("sqlite:///" + path, OpenMode::kReadOnly);
    EXPECT_EQ(storage->all_studies().size(), 2u);
    EXPECT_THROW(storage->create_study("new", {StudyDirection::kMinimize}), StorageError);
  }
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_EQ(journal_mode(path), "delete");
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
}

TEST(OpenStorageTest, ReadingAWalDatabaseLeavesNoFilesBehind) {
  testing::TempDir dir;
  const std::string path = make_database(dir);
  set_journal_mode(path, "WAL");
  {
    auto storage = open_storage("sqlite:///" + path, OpenMode::kReadOnly);
    EXPECT_EQ(storage->all_studies().size(), 2u);
  }
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
}

TEST(OpenStorageTest, ExistingChangesOnlyWhatItIsAsked) {
  testing::TempDir dir;
  const std::string path = make_database(dir);
  {
    auto storage = open_storage("sqlite:///" + path, OpenMode::kExisting);
    storage->delete_study(storage->study_id_from_name("drop"));
  }
  EXPECT_EQ(journal_mode(path), "delete");
  auto storage = open_storage("sqlite:///" + path, OpenMode::kReadOnly);
  auto studies = storage->all_studies();
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0].study_name, "keep");
}

// Missing or schema-less files: refused, nothing created or changed.
TEST(OpenStorageTest, MalformedStoragesAreRefused) {
  testing::TempDir dir;
  std::ofstream(dir.file("empty.db")).flush();
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kExisting}) {
    testing::expect_invalid(
        "missing file", [&] { open_storage("sqlite:///" + dir.file("typo.db"), mode); },
        {"storage = \"sqlite:///" + dir.file("typo.db") + "\"", "no such file", "never creates"});
    EXPECT_FALSE(std::filesystem::exists(dir.file("typo.db")));
    testing::expect_invalid("a directory", [&] { open_storage("sqlite:///" + dir.path(), mode); },
                            {"no such file"});
    try {
      open_storage("sqlite:///" + dir.file("empty.db"), mode);
      ADD_FAILURE() << "an empty file opened";
    } catch (const StorageError& e) {
      EXPECT_NE(std::string(e.what()).find("holds no studies"), std::string::npos) << e.what();
    }
    EXPECT_EQ(std::filesystem::file_size(dir.file("empty.db")), 0u);
  }
}

TEST(OpenStorageTest, StorageFileNamesTheSqlitePath) {
  EXPECT_EQ(storage_file("sqlite:///knob.db"), "knob.db");
  EXPECT_EQ(storage_file("sqlite:////tmp/k.db?timeout=5"), "/tmp/k.db");
  EXPECT_EQ(storage_file("postgresql://u@h/db"), "");
  EXPECT_EQ(storage_file(":memory:"), "");
}

}  // namespace
}  // namespace knob
