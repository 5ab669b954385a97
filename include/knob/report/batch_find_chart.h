// The batch-size finder as a chart: throughput (samples/s) of every batch size that fit the
// memory budget against the batch size on a log axis, the sizes over the budget marked on the
// axis, and vertical lines at the gradient noise scale B_simple, the recommended size and the
// largest size that fits.
//
// Example:
//   knob::BatchFindResult r = knob::Trainer(config).find_batch_size();
//   knob::write_png(knob::to_svg(knob::batch_find_chart(r)), "batch_find.png", 1600);
#pragma once

#include "knob/report/chart.h"
#include "knob/train/batch_find.h"

namespace knob {

Chart batch_find_chart(const BatchFindResult& result);

}  // namespace knob
