// The pieces of PostgreSQL's dialect that are plain functions (internal to the storage module;
// the dialect itself lives in postgres_dialect.cc, behind PostgresStorage): how a URL becomes
// libpq's, and how the shared statements' `?` placeholders become $1, $2, ...
//
// Example:
//   numbered_placeholders("SELECT 1 FROM studies WHERE study_id = ?")
//     == "SELECT 1 FROM studies WHERE study_id = $1"
#pragma once

#include <string>

namespace knob::detail {

// The libpq URL for a libpq or SQLAlchemy one (postgresql+psycopg2://...); throws
// InvalidArgument naming the URL without its password for a malformed one.
std::string libpq_url(const std::string& url);

// `sql` with each `?` outside quoted strings and identifiers replaced by $1, $2, ... in order.
std::string numbered_placeholders(const std::string& sql);

}  // namespace knob::detail
