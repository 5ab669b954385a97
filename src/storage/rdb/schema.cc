#include "storage/rdb/schema.h"

#include <cstdint>
#include <optional>

#include "knob/storage/rdb_storage.h"

namespace knob::detail {

const char* const kKnobIndexes = R"sql(
CREATE INDEX IF NOT EXISTS ix_trials_study_id_knob ON trials (study_id, number);
CREATE INDEX IF NOT EXISTS ix_trials_waiting_knob ON trials (study_id, trial_id)
  WHERE state = 'WAITING';
)sql";

namespace {
// The Optuna release whose schema knob writes (version_info.library_version).
constexpr const char* kLibraryVersion = "3.1.0";
}  // namespace

bool has_study_tables(const std::set<std::string>& tables) {
  return tables.count("version_info") && tables.count("trials");
}

void write_schema_versions(Dialect& dialect) {
  dialect.run(
      "INSERT INTO version_info (version_info_id, schema_version, library_version) "
      "VALUES (1, ?, ?)",
      {RdbStorage::kSchemaVersion, kLibraryVersion});
  dialect.run("INSERT INTO alembic_version (version_num) VALUES (?)",
              {RdbStorage::kAlembicRevision});
}

void check_schema_versions(Dialect& dialect, const std::set<std::string>& tables) {
  const std::optional<int64_t> schema_version =
      dialect.query_int64("SELECT schema_version FROM version_info WHERE version_info_id = 1");
  std::string revision = "(none)";
  if (tables.count("alembic_version")) {
    revision = dialect.query_text("SELECT version_num FROM alembic_version").value_or(revision);
  }
  if (schema_version != RdbStorage::kSchemaVersion || revision != RdbStorage::kAlembicRevision) {
    const std::string& where = dialect.where();
    throw StorageError(where + ": schema version " +
                       (schema_version ? std::to_string(*schema_version) : "(none)") +
                       " (alembic " + revision + "); knob reads Optuna's schema " +
                       std::to_string(RdbStorage::kSchemaVersion) + " (" +
                       RdbStorage::kAlembicRevision +
                       ", Optuna 3.x). Upgrade it with `optuna storage upgrade --storage " + where +
                       "`; knob leaves it untouched");
  }
}

}  // namespace knob::detail
