// The learning-rate range test as a chart: the raw and the smoothed loss against the
// learning rate on a log axis, every suggestion marked with its value, the chosen one as a
// vertical line. The loss axis stops at 1.5 x the starting loss, so the divergence at the end
// does not flatten the part that matters.
//
// Example:
//   knob::LrFindResult r = knob::Trainer(config).find_lr();
//   knob::write_png(knob::to_svg(knob::lr_find_chart(r)), "lr_find.png", 1280);
#pragma once

#include "knob/report/chart.h"
#include "knob/train/lr_range.h"

namespace knob {

Chart lr_find_chart(const LrFindResult& result);

}  // namespace knob
