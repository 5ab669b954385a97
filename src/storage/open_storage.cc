#include "knob/storage/open_storage.h"

#include "knob/core/error.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/postgres_storage.h"
#include "knob/storage/sqlite_storage.h"

namespace knob {

std::shared_ptr<Storage> open_storage(const std::string& url) {
  static const std::string kAllowed =
      "must be sqlite:///PATH (relative), sqlite:////PATH (absolute), "
      "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or \"\" / :memory: for in-memory";
  if (url.empty() || url == ":memory:") return std::make_shared<InMemoryStorage>();
  const std::string sqlite = "sqlite:///";
  if (url.rfind(sqlite, 0) == 0) {
    std::string path = url.substr(sqlite.size());
    auto query = path.find('?');
    if (query != std::string::npos) path.resize(query);  // SQLAlchemy options: ignored
    KNOB_CHECK(!path.empty(), "storage", url, kAllowed + " (the path is missing)");
    return std::make_shared<SqliteStorage>(path);
  }
  if (url.rfind("postgres", 0) == 0) return std::make_shared<PostgresStorage>(url);
  throw_invalid("storage", PostgresStorage::redacted_url(url), kAllowed);
}

}  // namespace knob
