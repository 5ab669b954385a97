// Fuzzes `--set KEY=VALUE` (apply_override: the value parsed as TOML) on the trainer config.
// The input holds one assignment per line; each that is accepted must read back through
// get_config_value.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "fuzz_support.h"
#include "knob/train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  std::istringstream lines(fuzz::text(data, size));
  TrainConfig config;
  for (std::string line; std::getline(lines, line);) {
    if (!fuzz::expect_bad_input([&] { apply_override(config, line); })) continue;
    const auto eq = line.find('=');
    fuzz::fuzz_check(eq != std::string::npos, "an accepted override has no '='");
  }
  fuzz::expect_bad_input([&] { validate(config); });
  for (const auto& key : config_keys()) get_config_value(config, key);
  return 0;
}
