#include "knob/report/batch_find_chart.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace knob {

Chart batch_find_chart(const BatchFindResult& r) {
  Chart chart;
  chart.title("Batch-size finder (budget " + short_number(r.budget_mib, 3) + " MiB)")
      .width(800)
      .height(500)
      .x_axis(Axis().label("batch size").scale(AxisScale::kLog10))
      .y_axis(Axis().label("throughput (samples/s)"));
  std::map<int64_t, const BatchTrial*> by_size;  // sorted, for a line from left to right
  for (const auto& t : r.trials) by_size[t.size] = &t;
  std::vector<double> x, y, over_x, over_y;
  double top = 0;
  for (const auto& [size, t] : by_size) {
    if (t->fits) {
      x.push_back(static_cast<double>(size));
      y.push_back(t->samples_per_second);
      if (std::isfinite(t->samples_per_second)) top = std::max(top, t->samples_per_second);
    } else {
      over_x.push_back(static_cast<double>(size));
    }
  }
  for (size_t i = 0; i < over_x.size(); ++i) over_y.push_back(0.0);
  chart.y_axis().min(0.0);
  chart.add(Series("throughput (fits the budget)", x, y).color("#1f77b4"));
  if (!over_x.empty()) {
    chart.add(Series("over the memory budget", over_x, over_y)
                  .style(SeriesStyle::kPoints)
                  .color("#d62728"));
  }
  if (r.largest_fitting > 0) {
    chart.annotate(
        Annotation::vertical_line(static_cast<double>(r.largest_fitting),
                                  "largest that fits " + std::to_string(r.largest_fitting))
            .color("#7f7f7f"));
  }
  if (r.noise.batches > 0 && std::isfinite(r.noise.b_simple) && r.noise.b_simple > 0) {
    chart.annotate(
        Annotation::vertical_line(r.noise.b_simple,
                                  "noise scale B_simple " + short_number(r.noise.b_simple, 3))
            .color("#9467bd"));
  }
  if (r.recommended > 0) {
    const auto it = by_size.find(r.recommended);
    const double at = it != by_size.end() ? it->second->samples_per_second : top;
    chart.annotate(Annotation::point(static_cast<double>(r.recommended), at,
                                     "recommended " + std::to_string(r.recommended))
                       .color("#2ca02c"));
  }
  return chart;
}

}  // namespace knob
