// The dialects by database, opened without their schema (internal to the storage module): for
// what works on a database before or instead of RdbStorage opening it (upgrade_schema). Each
// connects (SQLite: opens or creates the file) and throws StorageError naming the database.
//
// Example:
//   std::unique_ptr<Dialect> dialect = sqlite_dialect("study.db", 60000);
//   SchemaUpgrade done = upgrade_to_newest(*dialect);
#pragma once

#include <memory>
#include <string>

#include "knob/storage/open_mode.h"

#include "storage/rdb/dialect.h"

namespace knob::detail {

std::unique_ptr<Dialect> sqlite_dialect(const std::string& path, int busy_timeout_ms,
                                        OpenMode mode = OpenMode::kCreate);
std::unique_ptr<Dialect> postgres_dialect(const std::string& url);

}  // namespace knob::detail
