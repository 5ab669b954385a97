// PostgresStorage: studies in a PostgreSQL database, in Optuna's RDB schema (version 12,
// alembic v3.2.0.a or v3.0.0.d: schema_revision.h, with PostgreSQL ENUM types as SQLAlchemy
// creates them), so Optuna opens what knob writes and knob continues what Optuna wrote — and
// workers on many machines share one study: trial numbers are allocated under a lock on the
// study row, WAITING trials are claimed with SELECT ... FOR UPDATE SKIP LOCKED. A dropped
// connection is re-opened and the failed transaction run again (a few times, with backoff). It
// is RdbStorage (rdb_storage.h) with PostgreSQL's dialect: one connection per instance; its
// methods may be called from any thread (they take turns). Heartbeats are the server's
// LOCALTIMESTAMP (the session's time zone) as Optuna writes them; stale trials are taken FOR
// UPDATE SKIP LOCKED, so concurrent callers split them without waiting on each other.
//
// The URL is libpq's, or SQLAlchemy's spelling of it:
//   postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=require&...]
//   postgresql+psycopg2://...   (as Optuna's --storage takes it)
// The database must exist; knob creates the tables in it on first use.
//
// Example:
//   auto storage = knob::open_storage("postgresql://knob@db.example.org:5432/studies");
//   auto storage2 = std::make_shared<knob::PostgresStorage>("postgresql://knob@localhost/knob");
#pragma once

#include <optional>
#include <string>

#include "knob/storage/rdb_storage.h"

namespace knob {

class PostgresStorage : public RdbStorage {
 public:
  // Connects and opens (or creates) the schema. Throws InvalidArgument for a malformed URL,
  // StorageError naming the URL (password hidden) when the server cannot be reached, refuses
  // the login, or holds a database that is not an Optuna/knob one of the schema knob reads.
  // `schema`: as SqliteStorage's.
  explicit PostgresStorage(const std::string& url,
                           std::optional<SchemaRevision> schema = std::nullopt);

  // The URL with its password replaced by "***" (as errors name it).
  static std::string redacted_url(const std::string& url);
  // The backend process id of this storage's connection (tests terminate it).
  int backend_pid();
};

}  // namespace knob
