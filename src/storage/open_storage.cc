#include "knob/storage/open_storage.h"

#include <sys/stat.h>

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/postgres_storage.h"
#include "knob/storage/schema_revision.h"
#include "knob/storage/sqlite_storage.h"

namespace knob {

namespace {
const std::string kSqlite = "sqlite:///";

// The path of a sqlite:/// URL, without SQLAlchemy's ?options (which knob ignores).
std::string sqlite_path(const std::string& url) {
  std::string path = url.substr(kSqlite.size());
  auto query = path.find('?');
  if (query != std::string::npos) path.resize(query);
  return path;
}
}  // namespace

std::string storage_file(const std::string& url) {
  if (url.rfind(kSqlite, 0) != 0) return "";
  return sqlite_path(url);
}

std::shared_ptr<Storage> open_storage(const std::string& url) {
  return open_storage(url, OpenMode::kCreate);
}

std::shared_ptr<Storage> open_storage(const std::string& given_url, OpenMode mode) {
  static const std::string kAllowed =
      "must be sqlite:///PATH (relative), sqlite:////PATH (absolute), "
      "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or \"\" / :memory: for in-memory";
  std::string url = given_url;
  const std::optional<SchemaRevision> schema = take_schema_option(url);  // ?schema=REVISION
  if (url.empty() || url == ":memory:") return std::make_shared<InMemoryStorage>();
  // PostgreSQL: `mode` is not applied (a database server is never created by opening it).
  if (url.rfind(kSqlite, 0) == 0) {
    std::string path = sqlite_path(url);
    KNOB_CHECK(!path.empty(), "storage", url, kAllowed + " (the path is missing)");
    if (mode != OpenMode::kCreate) {
      struct stat file {};
      KNOB_CHECK(::stat(path.c_str(), &file) == 0 && S_ISREG(file.st_mode), "storage", url,
                 "must name an existing SQLite file (no such file: " + path +
                     "; this command reads or changes a storage, it never creates one)");
    }
    return std::make_shared<SqliteStorage>(path, 60000, mode, schema);
  }
  if (url.rfind("postgres", 0) == 0) return std::make_shared<PostgresStorage>(url, schema);
  throw_invalid("storage", PostgresStorage::redacted_url(url), kAllowed);
}

}  // namespace knob
