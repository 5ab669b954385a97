#include "knob/report/lr_find_chart.h"

#include <algorithm>
#include <cmath>

namespace knob {

Chart lr_find_chart(const LrFindResult& r) {
  Chart chart;
  chart.title("Learning-rate range test (batch " + std::to_string(r.batch_size) + ")")
      .width(800)
      .height(500)
      .x_axis(Axis().label("learning rate").scale(AxisScale::kLog10))
      .y_axis(Axis().label("training loss"));
  chart.add(Series("loss", r.lrs, r.losses).color("#9ecae1").line_width(1.0));
  chart.add(Series("smoothed loss", r.lrs, r.smoothed).color("#1f77b4"));
  // The range shown: from below the lowest loss to 1.5 x the starting loss.
  double low = INFINITY;
  for (const auto* curve : {&r.smoothed, &r.losses}) {
    for (double v : *curve) {
      if (std::isfinite(v)) low = std::min(low, v);
    }
  }
  if (!r.smoothed.empty() && std::isfinite(low) && std::isfinite(r.smoothed.front())) {
    const double high = std::max(1.5 * r.smoothed.front(), low * 1.1 + 1e-9);
    chart.y_axis().range(std::max(0.0, low - 0.05 * (high - low)), high);
  }
  const std::vector<std::string> colors = {"#2ca02c", "#d62728", "#9467bd"};
  for (size_t i = 0; i < r.suggestions.size(); ++i) {
    const LrSuggestion& s = r.suggestions[i];
    const std::string label = s.name + " " + short_number(s.lr);
    const std::string color = colors[i % colors.size()];
    if (s.name == r.chosen) {
      chart.annotate(Annotation::vertical_line(s.lr, label + " (chosen)").color(color));
    } else if (!r.lrs.empty()) {
      // On the curve at the suggested rate ("minimum" is a tenth of the minimum's rate).
      size_t nearest = 0;
      for (size_t j = 1; j < r.lrs.size(); ++j) {
        if (std::abs(std::log(r.lrs[j] / s.lr)) < std::abs(std::log(r.lrs[nearest] / s.lr))) {
          nearest = j;
        }
      }
      chart.annotate(Annotation::point(s.lr, r.smoothed[nearest], label).color(color));
    }
  }
  return chart;
}

}  // namespace knob
