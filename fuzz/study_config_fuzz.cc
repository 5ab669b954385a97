// Fuzzes the study file loader: TOML text through parse_study_config ([study], [search],
// [objective]), then the sampler and pruner it names built (what `knob tune FILE` does before
// the first trial).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/run/study_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  StudyConfig config;
  if (!fuzz::expect_bad_input(
          [&] { config = parse_study_config(fuzz::text(data, size), "fuzz.toml"); }))
    return 0;
  fuzz::expect_bad_input([&] { make_sampler(config); });
  fuzz::expect_bad_input([&] { make_pruner(config); });
  return 0;
}
