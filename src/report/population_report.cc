#include "knob/report/population_report.h"

#include <cstdio>
#include <sstream>

#include "knob/report/text_table.h"

namespace knob {
namespace {

std::string number(double v, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

}  // namespace

std::string population_csv(const PopulationResult& result) {
  std::ostringstream out;
  out << "member,epoch,lr,val_accuracy,val_loss,copied_from\n";
  for (size_t i = 0; i < result.members.size(); ++i) {
    const PopulationMember& m = result.members[i];
    for (const EpochMetrics& e : m.history) {
      const int64_t from = m.copied_from(e.epoch);
      out << i << "," << e.epoch << "," << number(e.lr, "%.10g") << ","
          << number(e.val_accuracy, "%.10g") << "," << number(e.val_loss, "%.10g") << ","
          << (from >= 0 ? std::to_string(from) : "") << "\n";
    }
  }
  return out.str();
}

Chart population_lr_chart(const PopulationResult& result) {
  Chart chart;
  chart.title("Population-based training: learning rate per epoch")
      .x_axis(Axis().label("epoch"))
      .y_axis(Axis().label("learning rate").scale(AxisScale::kLog10))
      .width(800)
      .height(500);
  for (size_t i = 0; i < result.members.size(); ++i) {
    std::vector<double> x, y;
    for (const EpochMetrics& e : result.members[i].history) {
      x.push_back(static_cast<double>(e.epoch + 1));
      y.push_back(e.lr);
    }
    chart.add(Series("member " + std::to_string(i), x, y)
                  .style(SeriesStyle::kStep)
                  .dashed(true)
                  .line_width(1.0));
  }
  std::vector<double> x, y = result.best_schedule;
  for (size_t e = 0; e < y.size(); ++e) x.push_back(static_cast<double>(e + 1));
  chart.add(Series("best lineage (member " + std::to_string(result.best) + ")", x, y)
                .style(SeriesStyle::kStep)
                .color("#000000")
                .line_width(2.5));
  return chart;
}

std::string population_summary(const PopulationResult& result) {
  TextTable table({"member", "final val_accuracy", "final val_loss", "final lr", "copied from"});
  for (size_t i = 0; i < result.members.size(); ++i) {
    const PopulationMember& m = result.members[i];
    std::string copies;
    for (const Exploit& e : m.lineage) {
      copies += (copies.empty() ? "" : ", ") + std::to_string(e.source) + " after epoch " +
                std::to_string(e.epoch);
    }
    const bool trained = !m.history.empty();
    std::string name =
        std::to_string(i) + (static_cast<int64_t>(i) == result.best ? " (best)" : "");
    if (m.stop_reason == "diverged") name += " (diverged)";
    table.add_row({name, trained ? number(m.history.back().val_accuracy) : "-",
                   trained ? number(m.history.back().val_loss) : "-",
                   trained ? number(m.history.back().lr) : "-", copies.empty() ? "-" : copies});
  }
  std::string text = table.str();
  text +=
      "\nlr schedule of the best member's lineage (member " + std::to_string(result.best) + "):\n";
  for (size_t e = 0; e < result.best_schedule.size(); ++e) {
    char line[64];
    std::snprintf(line, sizeof line, "  epoch %3zu  lr %s\n", e + 1,
                  number(result.best_schedule[e]).c_str());
    text += line;
  }
  return text;
}

}  // namespace knob
