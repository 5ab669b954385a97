#include "storage/rdb/schema.h"

#include <array>
#include <cstdint>
#include <optional>

#include "knob/core/error.h"

namespace knob::detail {

const char* const kKnobIndexes = R"sql(
CREATE INDEX IF NOT EXISTS ix_trials_study_id_knob ON trials (study_id, number);
CREATE INDEX IF NOT EXISTS ix_trials_waiting_knob ON trials (study_id, trial_id)
  WHERE state = 'WAITING';
)sql";

namespace {

// Optuna's version_info.schema_version for both revisions (models.SCHEMA_VERSION).
constexpr int kSchemaVersion = 12;

// The Optuna release whose schema knob writes (version_info.library_version): the first to
// write the revision.
const char* library_version(SchemaRevision revision) {
  return revision == SchemaRevision::kV3_0_0_d ? "3.1.0" : "3.2.0";
}

// Alembic revisions before v3.0.0.d (Optuna 0.9 to 2.x, 3.0 pre-releases): Optuna 3.2 or later
// upgrades them; knob does not.
constexpr std::array<const char*, 8> kOlderRevisions = {
    "v0.9.0.a", "v1.2.0.a", "v1.3.0.a", "v2.4.0.a", "v2.6.0.a", "v3.0.0.a", "v3.0.0.b", "v3.0.0.c"};

std::string revision_of(Dialect& dialect, const std::set<std::string>& tables) {
  if (!tables.count("alembic_version")) return "(none)";
  return dialect.query_text("SELECT version_num FROM alembic_version").value_or("(none)");
}

}  // namespace

bool has_study_tables(const std::set<std::string>& tables) {
  return tables.count("version_info") && tables.count("trials");
}

void create_revision(Dialect& dialect, SchemaRevision revision) {
  if (revision == SchemaRevision::kV3_2_0_a) {
    dialect.run_script("CREATE INDEX ix_trials_study_id ON trials (study_id)");
  }
  dialect.run(
      "INSERT INTO version_info (version_info_id, schema_version, library_version) "
      "VALUES (1, ?, ?)",
      {kSchemaVersion, library_version(revision)});
  dialect.run("INSERT INTO alembic_version (version_num) VALUES (?)",
              {schema_revision_name(revision)});
}

SchemaRevision check_schema_revision(Dialect& dialect, const std::set<std::string>& tables,
                                     std::optional<SchemaRevision> requested) {
  const std::optional<int64_t> schema_version =
      dialect.query_int64("SELECT schema_version FROM version_info WHERE version_info_id = 1");
  const std::string revision = revision_of(dialect, tables);
  const std::optional<SchemaRevision> known = schema_revision_from_name(revision);
  const std::string& where = dialect.where();
  if (!known || schema_version != kSchemaVersion) {
    std::string message =
        where + ": schema version " +
        (schema_version ? std::to_string(*schema_version) : "(none)") + ", alembic revision " +
        revision + " is not one knob knows; knob reads and writes " + known_schema_revisions();
    bool older = false;
    for (const char* r : kOlderRevisions) older = older || revision == r;
    if (older) {
      message +=
          ". Optuna 3.2 or later upgrades this older revision: `optuna storage upgrade "
          "--storage " +
          where + "`";
    }
    throw StorageError(message + "; knob leaves it untouched");
  }
  if (requested && *requested != *known) {
    throw StorageError(where + ": the database is at alembic revision " + revision +
                       " but its URL asks for ?schema=" + schema_revision_name(*requested) +
                       " (which applies only to a new database); knob never changes an existing "
                       "database's revision: drop ?schema= to use it as it is" +
                       (*known == SchemaRevision::kV3_0_0_d
                            ? std::string(", or run `knob storage upgrade --storage URL`")
                            : std::string()) +
                       "; knob leaves it untouched");
  }
  return *known;
}

SchemaUpgrade upgrade_to_newest(Dialect& dialect) {
  constexpr SchemaRevision kNewest = SchemaRevision::kV3_2_0_a;
  const std::string& where = dialect.where();
  return run_transaction(dialect, Tx::kWrite, [&] {
    const std::set<std::string> tables = dialect.table_names();
    if (tables.empty()) {
      throw StorageError(where +
                         ": the database has no tables, so there is nothing to upgrade (knob and "
                         "Optuna create new databases at " +
                         schema_revision_name(kNewest) + "); knob leaves it untouched");
    }
    if (!has_study_tables(tables)) {
      throw StorageError(where +
                         ": not an Optuna/knob study database (it has tables but no "
                         "version_info/trials); knob leaves it untouched");
    }
    const SchemaRevision from = check_schema_revision(dialect, tables, std::nullopt);
    SchemaUpgrade done{from, kNewest, from != kNewest, ""};
    if (!done.changed) {
      done.message = where + " is already at alembic revision " + schema_revision_name(kNewest) +
                     " (Optuna 3.2 and later); nothing changed";
      return done;
    }
    // Optuna's alembic revision v3.2.0.a, then what its `storage upgrade` writes afterwards.
    dialect.run_script("CREATE INDEX trials_study_id_key ON trials (study_id)");
    dialect.run("UPDATE alembic_version SET version_num = ?", {schema_revision_name(kNewest)});
    dialect.run(
        "UPDATE version_info SET schema_version = ?, library_version = ? "
        "WHERE version_info_id = 1",
        {kSchemaVersion, library_version(kNewest)});
    done.message = where + " upgraded from alembic revision " + schema_revision_name(from) +
                   " to " + schema_revision_name(kNewest) +
                   " (Optuna 3.0-3.1 can no longer open it; Optuna 3.2 and later can)";
    return done;
  });
}

}  // namespace knob::detail
