// Fuzzes the trainer config loader: TOML text through parse_train_config, then validate, and
// every key read back with get_config_value (what `knob train CONFIG` does with a file).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  const std::string toml = fuzz::text(data, size);
  TrainConfig config;
  if (!fuzz::expect_bad_input([&] { config = parse_train_config(toml, "fuzz.toml"); })) return 0;
  fuzz::expect_bad_input([&] { validate(config); });
  for (const auto& key : config_keys()) get_config_value(config, key);  // must not throw
  return 0;
}
