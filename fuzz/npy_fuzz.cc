// Fuzzes the NPY reader (numpy.save's format) on raw bytes: parse_npy either accepts the input
// or throws InvalidArgument; an accepted array's shape multiplies to exactly its bytes. The
// array is then read as inputs with itself as the labels or targets of each task
// (npy_examples), which must refuse or give examples consistent with the shape: finite floats,
// labels in [0, num_classes) with num_classes <= kMaxClasses, targets N x width.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "knob/train/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  NpyArray array;
  if (!fuzz::expect_bad_input([&] { array = parse_npy(bytes, "data.train_x", "fuzz.npy"); })) {
    return 0;
  }
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    fuzz::fuzz_check(d >= 0, "a negative dimension was accepted");
    count *= static_cast<uint64_t>(d);
  }
  fuzz::fuzz_check(count * static_cast<uint64_t>(array.itemsize) == array.data.size(),
                   "the shape does not match the bytes");
  for (Task task : {Task::kClassification, Task::kRegression, Task::kMultiLabel}) {
    Examples e;
    if (!fuzz::expect_bad_input([&] { e = npy_examples(array, array, task); })) continue;
    fuzz::fuzz_check(e.size() == array.shape[0], "examples are not the first dimension");
    fuzz::fuzz_check(e.bytes.size() + e.floats.size() == count, "inputs lost or invented");
    for (float x : e.floats) fuzz::fuzz_check(std::isfinite(x), "a non-finite input was accepted");
    if (task == Task::kClassification) {
      fuzz::fuzz_check(e.target_width == 0 && e.num_classes <= kMaxClasses, "bad classes");
      for (int64_t label : e.labels) {
        fuzz::fuzz_check(label >= 0 && label < e.num_classes, "a label outside [0, classes)");
      }
    } else {
      fuzz::fuzz_check(e.target_width >= 1 &&
                           static_cast<int64_t>(e.targets.size()) == e.size() * e.target_width,
                       "targets are not N x width");
      for (float t : e.targets) {
        fuzz::fuzz_check(std::isfinite(t) && (task != Task::kMultiLabel || (t >= 0 && t <= 1)),
                         "a target out of range was accepted");
      }
    }
  }
  return 0;
}
