// Fuzzes the IDX reader (MNIST's format) on raw bytes: parse_idx either accepts the input or
// throws InvalidArgument; an accepted array's dimensions multiply to exactly its bytes. The
// first byte, when the rest parses, decides whether the array is also checked as the labels
// of itself (check_idx_labels must then refuse or accept without any other error).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "knob/train/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  IdxArray array;
  if (!fuzz::expect_bad_input([&] { array = parse_idx(bytes, "fuzz.idx"); })) return 0;
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    fuzz::fuzz_check(d >= 0, "a negative dimension was accepted");
    count *= static_cast<uint64_t>(d);
  }
  fuzz::fuzz_check(count == array.bytes.size(), "dimensions do not match the bytes");
  if (array.shape.size() == 1) {
    fuzz::expect_bad_input([&] { check_idx_labels(array, array, 0, "fuzz.idx", "fuzz.idx"); });
  }
  return 0;
}
