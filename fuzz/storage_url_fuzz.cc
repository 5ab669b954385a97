// Fuzzes storage URLs as open_storage reads them: the PostgreSQL URL turned into libpq's
// (scheme, conninfo parsed by libpq, port checked) and the password hidden in messages; any
// other URL's rejection. It never connects and never opens a file: sqlite:/// URLs (whose
// path is the rest of the text, given to SQLite) are only redacted.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/storage/open_storage.h"
#include "knob/storage/postgres_storage.h"
#include "storage/rdb/postgres_dialect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  const std::string url = fuzz::text(data, size);
  const std::string shown = PostgresStorage::redacted_url(url);
  if (url.rfind("postgres", 0) == 0) {
    std::string libpq;
    if (fuzz::expect_bad_input([&] { libpq = detail::libpq_url(url); }))
      fuzz::fuzz_check(libpq.rfind("postgresql://", 0) == 0, "libpq URL without its scheme");
  } else if (url.rfind("sqlite:///", 0) != 0) {
    fuzz::expect_bad_input([&] { open_storage(url); });  // in memory, or rejected
  }
  return 0;
}
