#include "knob/storage/schema_revision.h"

#include <filesystem>
#include <memory>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"
#include "knob/storage/postgres_storage.h"
#include "storage/rdb/dialects.h"
#include "storage/rdb/schema.h"

namespace knob {

namespace {

// SQLite's busy timeout while upgrading (as SqliteStorage's default).
constexpr int kBusyTimeoutMs = 60000;

}  // namespace

const char* schema_revision_name(SchemaRevision revision) {
  return revision == SchemaRevision::kV3_0_0_d ? "v3.0.0.d" : "v3.2.0.a";
}

std::optional<SchemaRevision> schema_revision_from_name(const std::string& name) {
  for (auto r : {SchemaRevision::kV3_0_0_d, SchemaRevision::kV3_2_0_a}) {
    if (name == schema_revision_name(r)) return r;
  }
  return std::nullopt;
}

std::string known_schema_revisions() {
  return "v3.0.0.d (Optuna 3.0-3.1) and v3.2.0.a (Optuna 3.2-4.9, knob's default)";
}

std::optional<SchemaRevision> take_schema_option(std::string& url) {
  const size_t query = url.find('?');
  if (query == std::string::npos) return std::nullopt;
  const std::string original = url;
  std::optional<SchemaRevision> revision;
  std::string kept;
  size_t start = query + 1;
  while (start <= url.size()) {
    size_t end = url.find('&', start);
    if (end == std::string::npos) end = url.size();
    const std::string option = url.substr(start, end - start);
    if (option.rfind("schema=", 0) == 0) {
      const std::string name = option.substr(7);
      revision = schema_revision_from_name(name);
      if (!revision) {
        throw_invalid("storage", PostgresStorage::redacted_url(original),
                      "its ?schema= must name a revision knob writes: " + known_schema_revisions() +
                          " (got '" + name + "')");
      }
    } else if (!option.empty()) {
      kept += (kept.empty() ? "" : "&") + option;
    }
    start = end + 1;
  }
  url = url.substr(0, query) + (kept.empty() ? "" : "?" + kept);
  return revision;
}

SchemaUpgrade upgrade_schema(const std::string& url) {
  std::string plain = url;
  const std::string shown = PostgresStorage::redacted_url(url);
  KNOB_CHECK(!take_schema_option(plain), "storage", shown,
             "must not have ?schema=: storage upgrade always brings a database to v3.2.0.a");
  std::unique_ptr<detail::Dialect> dialect;
  const std::string sqlite = "sqlite:///";
  if (plain.rfind(sqlite, 0) == 0) {
    const std::string path = storage_file(plain);
    KNOB_CHECK(!path.empty(), "storage", shown, "must name an SQLite file (the path is missing)");
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      throw StorageError(url +
                         ": no such SQLite file; `storage upgrade` upgrades an existing "
                         "database (a new one is created at v3.2.0.a)");
    }
    dialect = detail::sqlite_dialect(path, kBusyTimeoutMs, OpenMode::kExisting);
  } else if (plain.rfind("postgres", 0) == 0) {
    dialect = detail::postgres_dialect(plain);
  } else {
    throw_invalid("storage", shown,
                  "must be sqlite:///PATH (relative), sqlite:////PATH (absolute) or "
                  "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (in-memory storage has no "
                  "schema to upgrade)");
  }
  return detail::upgrade_to_newest(*dialect);
}

}  // namespace knob
