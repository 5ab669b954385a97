// What every libFuzzer target of knob shares: the input as text, and the one rule they all
// check — a parser of outside input either accepts it or throws knob's own error for bad input
// (InvalidArgument, or NotFound/StorageError where the target says so); any other exception,
// a crash, a sanitizer report or a broken round trip is a finding (fuzz_check aborts).
//
// Example:
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     knob::fuzz::expect_bad_input([&] { knob::parse_train_config(knob::fuzz::text(data, size),
//     "fuzz"); }); return 0;
//   }
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "knob/core/error.h"

namespace knob::fuzz {

inline std::string text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Aborts (libFuzzer saves the input) with `what` when `condition` is false.
inline void fuzz_check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// Runs `body`; InvalidArgument (bad input, exit 2 in the CLI) is an answer, not a finding.
// Anything else thrown escapes, and libFuzzer reports it as a crash.
template <typename Body>
bool expect_bad_input(Body&& body) {
  try {
    body();
    return true;
  } catch (const InvalidArgument&) {
    return false;
  }
}

}  // namespace knob::fuzz
