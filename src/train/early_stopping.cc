#include "knob/train/early_stopping.h"

#include <cmath>

namespace knob {

bool EarlyStopping::better(double value, double reference) const {
  return options_.maximize ? value - options_.min_delta > reference
                           : value + options_.min_delta < reference;
}

bool EarlyStopping::update(int64_t epoch, double metric) {
  improved_ = false;
  if (epoch < options_.start_from_epoch || std::isnan(metric)) return false;
  ++wait_;
  if (!best_ || better(metric, *best_)) {
    best_ = metric;
    best_epoch_ = epoch;
    improved_ = true;
    if (!options_.baseline || better(metric, *options_.baseline)) wait_ = 0;
  }
  return options_.patience > 0 && wait_ >= options_.patience && epoch > 0;
}

}  // namespace knob
