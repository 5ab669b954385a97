// Fuzzes the CSV reader: parse_csv either accepts the text (label column "label") or throws
// InvalidArgument. An accepted data set is rectangular, every input finite, every label in
// [0, num_classes) with num_classes <= kMaxClasses; it is then checked as its own test set,
// which must pass.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "knob/train/data_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  const std::string text = fuzz::text(data, size);
  CsvData csv;
  if (!fuzz::expect_bad_input([&] { csv = parse_csv(text, "fuzz.csv", "label"); })) return 0;
  fuzz::fuzz_check(csv.features() >= 0, "no label column");
  fuzz::fuzz_check(csv.inputs.size() == static_cast<size_t>(csv.rows() * csv.features()),
                   "the inputs are not rows x features");
  for (float x : csv.inputs) fuzz::fuzz_check(std::isfinite(x), "a non-finite input was accepted");
  fuzz::fuzz_check(csv.num_classes <= kMaxClasses, "more classes than kMaxClasses");
  for (int64_t label : csv.labels)
    fuzz::fuzz_check(label >= 0 && label < csv.num_classes, "a label outside [0, classes)");
  check_test_csv(csv, csv);  // a data set is always a valid test set of itself
  return 0;
}
