// Writes a TensorBoard event file for tensorboard_test.py from made-up scalars (NaN and a
// negative step included) and prints each as a JSON line {"tag": ..., "step": ..., "value": ...}.
// Usage: tensorboard_writer DIR
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "knob/report/tensorboard.h"

// A JSON number with every digit (Python's json reads NaN as such).
std::string number(double x) {
  if (std::isnan(x)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  knob::TensorBoardWriter tb(argv[1]);
  auto add = [&](const char* tag, double value, int64_t step) {
    tb.add_scalar(tag, value, step);
    std::printf("{\"tag\": \"%s\", \"step\": %lld, \"value\": %s}\n", tag,
                static_cast<long long>(step), number(value).c_str());
  };
  for (int64_t step = 1; step <= 5; ++step) {
    add("train/loss", 2.0 / (static_cast<double>(step) + 0.3), step);
    add("lr", 0.1 * std::pow(0.5, static_cast<double>(step)), step);
  }
  add("val/loss", std::numeric_limits<double>::quiet_NaN(), 5);
  add("val/accuracy", 0.71, 5);
  add("offset", 1.5, -3);
  return 0;
}
