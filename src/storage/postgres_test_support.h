// Test support for the PostgreSQL backend: a fresh database per test on the server named by
// KNOB_TEST_POSTGRES_URL (scripts/pg_test_server sets it; without it these tests skip).
#pragma once

#include <unistd.h>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "storage/rdb/postgres_connection.h"

namespace knob::testing {

// The server's URL (a superuser's, on its `postgres` database), if a server was given.
inline std::optional<std::string> postgres_test_url() {
  const char* url = std::getenv("KNOB_TEST_POSTGRES_URL");
  if (!url || !*url) return std::nullopt;
  return std::string(url);
}

// `url` with its database (the path) replaced by `database`.
inline std::string with_database(const std::string& url, const std::string& database) {
  auto slash = url.find('/', url.find("://") + 3);
  auto query = url.find('?');
  std::string out = slash == std::string::npos ? url : url.substr(0, slash);
  return out + "/" + database + (query == std::string::npos ? "" : url.substr(query));
}

// Creates an empty database on the test server and returns its URL.
inline std::string fresh_postgres_database(const std::string& server_url) {
  static std::mt19937_64 random(std::random_device{}());
  static int counter = 0;
  const std::string name = "knob_" + std::to_string(getpid()) + "_" + std::to_string(++counter) +
                           "_" + std::to_string(random() % 1000000);
  detail::PostgresConnection admin(server_url, server_url);
  admin.exec("CREATE DATABASE " + name);
  return with_database(server_url, name);
}

}  // namespace knob::testing
