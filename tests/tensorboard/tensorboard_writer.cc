// Writes a TensorBoard event file for tensorboard_test.py from made-up epochs (NaN included)
// and prints the same epochs as JSON lines, the format of `knob train --metrics X.jsonl`.
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
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    knob::EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = 2.0 / (epoch + 1.3);
    m.val_loss = epoch == 2 ? std::numeric_limits<double>::quiet_NaN() : 1.9 / (epoch + 1.1);
    m.val_accuracy = 0.5 + 0.1 * epoch;
    m.lr = 0.1 * std::pow(0.5, static_cast<double>(epoch));
    m.batch_size = 64 << epoch;
    knob::add_epoch_scalars(tb, m);
    std::printf(
        "{\"epoch\": %lld, \"train_loss\": %s, \"val_loss\": %s, \"val_accuracy\": %s, "
        "\"lr\": %s, \"batch_size\": %lld}\n",
        static_cast<long long>(epoch), number(m.train_loss).c_str(), number(m.val_loss).c_str(),
        number(m.val_accuracy).c_str(), number(m.lr).c_str(), static_cast<long long>(m.batch_size));
  }
  return 0;
}
