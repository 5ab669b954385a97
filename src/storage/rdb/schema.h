// Optuna's schema revisions, in one place for every dialect (internal to the storage module):
// the version rows and the v3.2.0.a index knob writes into a new database, reading and checking
// an existing one's revision, the upgrade from v3.0.0.d to v3.2.0.a, and knob's own indexes.
// The dialects supply the base DDL and the order of steps (their transactions and locks).
//
// Example (a dialect's open_schema, in its write transaction):
//   if (tables.empty()) { dialect.run_script(kSqliteSchema); create_revision(dialect, wanted); }
//   else revision = check_schema_revision(dialect, tables, requested);
#pragma once

#include <optional>
#include <set>
#include <string>

#include "knob/storage/schema_revision.h"
#include "storage/rdb/dialect.h"

namespace knob::detail {

// knob's additions to Optuna's schema: without the first, every per-study read of a v3.0.0.d
// database (no index on trials.study_id) scans all trials, and ordering by number sorts; without
// the second (partial: it holds only WAITING rows, so it costs nearly nothing to keep),
// claim_waiting_trial — run before every trial — scans all the study's trials. Their names
// differ from Optuna's ix_trials_study_id and trials_study_id_key, so Optuna's upgrade adds its
// own beside them. Extra indexes are invisible to Optuna and alembic.
extern const char* const kKnobIndexes;

// Whether `tables` (a database's table names) are an Optuna/knob study database's: they
// include version_info and trials.
bool has_study_tables(const std::set<std::string>& tables);

// After the v3.0.0.d DDL of a new database: adds what `revision` has beyond it (v3.2.0.a: the
// index Optuna's create_all makes, ix_trials_study_id) and writes the version rows.
void create_revision(Dialect& dialect, SchemaRevision revision);

// The revision of an existing study database. Throws StorageError naming its schema version and
// alembic revision and the revisions knob knows unless it is one of them, or, when `requested`
// (a URL's ?schema=) differs from it, naming both; knob leaves the database untouched.
SchemaRevision check_schema_revision(Dialect& dialect, const std::set<std::string>& tables,
                                     std::optional<SchemaRevision> requested);

// Upgrades an existing database to v3.2.0.a in one write transaction, as Optuna's alembic
// revision v3.2.0.a does (see schema_revision.h's upgrade_schema).
SchemaUpgrade upgrade_to_newest(Dialect& dialect);

}  // namespace knob::detail
