#include "knob/tuner/pruners/patient_pruner.h"

#include <cmath>
#include <iterator>
#include <limits>

#include "knob/core/error.h"
#include "knob/tuner/study.h"

namespace knob {

PatientPruner::PatientPruner(std::shared_ptr<Pruner> wrapped, PatientPrunerOptions options)
    : wrapped_(std::move(wrapped)), options_(options) {
  KNOB_CHECK(options_.patience() >= 0, "patience", options_.patience(), "must be >= 0");
  KNOB_CHECK(options_.min_delta() >= 0.0, "min_delta", options_.min_delta(),
             "must be a number >= 0");
}

namespace {

// numpy.nanmin / nanmax of [first, last): NaN when all are NaN.
template <typename It>
double nan_best(It first, It last, bool maximize) {
  double best = std::numeric_limits<double>::quiet_NaN();
  for (; first != last; ++first) {
    const double v = first->second;
    if (!std::isnan(v) && (std::isnan(best) || (maximize ? v > best : v < best))) best = v;
  }
  return best;
}

}  // namespace

bool PatientPruner::prune(Study& study, const FrozenTrial& trial) {
  const auto& values = trial.intermediate_values;  // ordered by step
  const auto window = static_cast<size_t>(options_.patience()) + 1;
  if (values.size() <= window) return false;
  const auto split = std::prev(values.end(), static_cast<std::ptrdiff_t>(window));
  const bool maximize = study.direction() == StudyDirection::kMaximize;
  const double before = nan_best(values.begin(), split, maximize);
  const double after = nan_best(split, values.end(), maximize);
  // Comparisons with NaN are false: a window of NaNs never looks stalled (as in Optuna).
  const bool stalled =
      maximize ? before - options_.min_delta() > after : before + options_.min_delta() < after;
  if (!stalled) return false;
  return wrapped_ ? wrapped_->prune(study, trial) : true;
}

}  // namespace knob
