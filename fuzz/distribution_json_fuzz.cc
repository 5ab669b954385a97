// Fuzzes the distribution JSON read from a database (trial_params.distribution_json, as
// Optuna writes it): json_to_distribution, and what it accepts written back and read again
// must be the same distribution.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/core/distribution.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  Distribution d = CategoricalDistribution({ParamValue()});
  if (!fuzz::expect_bad_input([&] { d = json_to_distribution(fuzz::text(data, size)); })) return 0;
  const std::string json = distribution_to_json(d);
  Distribution again = json_to_distribution(json);  // must not throw
  fuzz::fuzz_check(distribution_to_json(again) == json, "distribution JSON does not round-trip");
  return 0;
}
