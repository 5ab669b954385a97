// Optuna's schema revision, in one place for every dialect (internal to the storage module):
// the version rows knob writes into a new database, the check that an existing one is the
// revision knob reads (RdbStorage::kSchemaVersion / kAlembicRevision), and knob's own indexes.
// The dialects supply the DDL and the order of steps (their transactions and locks).
//
// Example (a dialect's open_schema, in its write transaction):
//   if (tables.empty()) { dialect.run_script(kSqliteSchema); write_schema_versions(dialect); }
//   else check_schema_versions(dialect, tables);
#pragma once

#include <set>
#include <string>

#include "storage/rdb/dialect.h"

namespace knob::detail {

// knob's additions to Optuna's schema (Optuna 3.1 has no index on trials.study_id): without
// the first, every per-study read scans all trials; without the second (partial: it holds only
// WAITING rows, so it costs nearly nothing to keep), claim_waiting_trial — run before every
// trial — scans all the study's trials. Extra indexes are invisible to Optuna and alembic.
extern const char* const kKnobIndexes;

// Whether `tables` (a database's table names) are an Optuna/knob study database's: they
// include version_info and trials.
bool has_study_tables(const std::set<std::string>& tables);

// Writes the version rows of a new database (version_info, alembic_version) after its DDL.
void write_schema_versions(Dialect& dialect);

// Throws StorageError naming the database's schema version and alembic revision unless they
// are the ones knob reads; `tables` tells whether alembic_version exists.
void check_schema_versions(Dialect& dialect, const std::set<std::string>& tables);

}  // namespace knob::detail
