// Internal: the warm-up and interval rule Optuna's percentile and threshold pruners share.
#pragma once

#include <cstdint>
#include <map>

namespace knob::detail {

// Whether `step`, a trial's last reported step, is after `warmup` and the first step the
// trial reported in its pruning interval (intervals of `interval` steps start at `warmup`;
// steps need not be contiguous: reports at 0 and 3 with interval 2 judge step 3).
inline bool is_judged_step(const std::map<int64_t, double>& values, int64_t step, int64_t warmup,
                           int64_t interval) {
  if (step < warmup) return false;
  const int64_t interval_start = (step - warmup) / interval * interval + warmup;
  auto it = values.lower_bound(step);  // the previous report is the one before `step`
  const int64_t previous = it == values.begin() ? -1 : std::prev(it)->first;
  return previous < interval_start;
}

}  // namespace knob::detail
