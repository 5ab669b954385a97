// The revisions of Optuna's RDB schema knob reads and writes, and upgrading a database from the
// older to the newer, as `optuna storage upgrade` does. Both are schema version 12; v3.2.0.a
// (every Optuna from 3.2 on) only adds an index on trials(study_id) to v3.0.0.d (Optuna 3.0-3.1,
// Debian's python3-optuna). knob opens either as it is and never changes an existing database's
// revision unless asked to by upgrade_schema; a new database is v3.2.0.a unless its URL ends in
// ?schema=v3.0.0.d (open_storage) or the storage's constructor is given kV3_0_0_d.
//
// Example:
//   knob::SchemaUpgrade done = knob::upgrade_schema("sqlite:///optuna31.db");
//   std::cout << done.message << "\n";  // "... upgraded from v3.0.0.d to v3.2.0.a"
#pragma once

#include <optional>
#include <string>

namespace knob {

enum class SchemaRevision {
  kV3_0_0_d,  // alembic v3.0.0.d: Optuna 3.0 and 3.1
  kV3_2_0_a,  // alembic v3.2.0.a: Optuna 3.2 to 4.9 (and later releases so far)
};

// What a new database is created at when no revision is asked for.
inline constexpr SchemaRevision kDefaultSchemaRevision = SchemaRevision::kV3_2_0_a;

// The alembic revision id ("v3.0.0.d", "v3.2.0.a").
const char* schema_revision_name(SchemaRevision revision);
// The revision named `name`, or nullopt if knob does not know it.
std::optional<SchemaRevision> schema_revision_from_name(const std::string& name);
// The revisions knob knows, with the Optuna releases that write them, for error messages.
std::string known_schema_revisions();

// Splits a storage URL's `schema=REVISION` query option off it (the rest is returned in `url`,
// with its other options). Throws InvalidArgument naming the storage and the revisions allowed
// when REVISION is not one knob knows.
std::optional<SchemaRevision> take_schema_option(std::string& url);

struct SchemaUpgrade {
  SchemaRevision from;
  SchemaRevision to;
  bool changed;         // false: the database was already at the newest revision
  std::string message;  // one line for the user, naming the database and the revisions
};

// Upgrades an existing SQLite or PostgreSQL study database to v3.2.0.a in one transaction
// (Optuna's own upgrade: the index trials_study_id_key, alembic_version and version_info).
// Changes nothing if it is already current. Throws StorageError naming the database (and its
// revision) for a missing file, an empty or non-Optuna database or an unknown revision, and
// InvalidArgument for a URL that names no database (in-memory storage); nothing is changed then.
SchemaUpgrade upgrade_schema(const std::string& url);

}  // namespace knob
