// SqliteStorage: studies in one SQLite file, in Optuna's RDB schema (version 12, alembic
// v3.2.0.a or v3.0.0.d: schema_revision.h), so `optuna.load_study(storage="sqlite:///path.db")`
// opens what knob writes and knob continues what Optuna wrote. It is RdbStorage (rdb_storage.h)
// with SQLite's dialect.
//
// The file runs in WAL mode with a busy timeout: many threads and processes can share it,
// every write is one short transaction (BEGIN IMMEDIATE), trial numbers never collide. A file
// that is not an SQLite database, or an SQLite database that is not an Optuna/knob one, is
// refused with StorageError and left untouched. Heartbeats are SQLite's CURRENT_TIMESTAMP
// (UTC, whole seconds), as Optuna's: a trial's silence counts from the end of its heartbeat's
// second (stale trials fail up to 1 s late).
//
// Example:
//   auto storage = std::make_shared<knob::SqliteStorage>("studies.db");
#pragma once

#include <optional>
#include <string>

#include "knob/storage/open_mode.h"
#include "knob/storage/rdb_storage.h"

namespace knob {

class SqliteStorage : public RdbStorage {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory database).
  // `busy_timeout_ms` bounds how long a write waits for another process's lock.
  // `schema`: the revision of a new database (default kDefaultSchemaRevision); if given, an
  // existing database must be at it (schema_revision.h). With
  // OpenMode::kReadOnly nothing is ever written, not even the journal mode: SQLite refuses
  // every change (PRAGMA query_only; the handle is read-write where the OS allows, so a WAL
  // file's -wal and -shm go away on close as after any reader), and a WAL file in a read-only
  // directory without its -shm is read as immutable. With kExisting a missing file is not
  // created and the journal mode is left as it is. Both throw StorageError for a file without
  // the schema.
  explicit SqliteStorage(const std::string& path, int busy_timeout_ms = 60000,
                         std::optional<SchemaRevision> schema = std::nullopt);
  SqliteStorage(const std::string& path, int busy_timeout_ms, OpenMode mode,
                std::optional<SchemaRevision> schema = std::nullopt);
};

}  // namespace knob
