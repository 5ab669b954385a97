#include "knob/report/lr_find_chart.h"

#include <gtest/gtest.h>

#include <cmath>

namespace knob {
namespace {

LrFindResult falling_then_rising() {
  LrFindResult r;
  r.batch_size = 64;
  LrFindConfig c;
  r.lrs = sweep_learning_rates(c);
  LrSmoother smoother(0.9);
  for (size_t i = 0; i < r.lrs.size(); ++i) {
    const double x = std::log10(r.lrs[i]);  // -7 .. 1
    r.losses.push_back(2.3 - std::tanh(x + 3) + (x > -1 ? 10 * (x + 1) : 0));
    r.smoothed.push_back(smoother.add(r.losses.back()));
  }
  r.suggestions = suggest_learning_rates(r.lrs, r.smoothed, c.steps);
  r.chosen = "valley";
  r.lr = r.suggestions.front().lr;
  return r;
}

TEST(LrFindChartTest, MarksEverySuggestionAndTheChosenOne) {
  LrFindResult r = falling_then_rising();
  Chart chart = lr_find_chart(r);
  ASSERT_EQ(chart.annotations().size(), 3u);
  EXPECT_EQ(chart.annotations()[0].kind(), AnnotationKind::kVerticalLine);
  EXPECT_NE(chart.annotations()[0].label().find("(chosen)"), std::string::npos);
  EXPECT_DOUBLE_EQ(chart.annotations()[0].x(), r.lr);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(chart.annotations()[i].kind(), AnnotationKind::kPoint);
    EXPECT_DOUBLE_EQ(chart.annotations()[i].x(), r.suggestions[i].lr);
  }
  // The loss axis ends at 1.5 x the starting loss, not at the diverged end of the sweep.
  ChartLayout layout = layout_chart(chart);
  EXPECT_DOUBLE_EQ(layout.y.max, 1.5 * r.smoothed.front());
  EXPECT_EQ(layout.x.scale, AxisScale::kLog10);
  const std::string svg = to_svg(chart);
  for (const char* text : {"valley", "steepest", "minimum", "batch 64"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
}

TEST(LrFindChartTest, NoSuggestionStillDrawsTheCurve) {
  LrFindResult r = falling_then_rising();
  r.suggestions.clear();
  r.chosen.clear();
  Chart chart = lr_find_chart(r);
  EXPECT_TRUE(chart.annotations().empty());
  EXPECT_TRUE(layout_chart(chart).has_data);
}

}  // namespace
}  // namespace knob
