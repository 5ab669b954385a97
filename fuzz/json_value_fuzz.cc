// Fuzzes the JSON values read from a database (user and system attributes' value_json, read
// with loads): what loads accepts, dumps must write as text that loads reads back the same.
// (json_for_html, the report's inlined data, is checked by dashboard_query_fuzz.)
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  Json value;
  if (!fuzz::expect_bad_input([&] { value = loads(fuzz::text(data, size), "value_json"); }))
    return 0;
  const std::string text = dumps(value);
  fuzz::fuzz_check(dumps(loads(text)) == text, "dumps/loads does not round-trip");
  return 0;
}
