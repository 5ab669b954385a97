#include "knob/report/batch_find_chart.h"

#include <gtest/gtest.h>

#include <cmath>

#include "knob/report/png.h"

namespace knob {
namespace {

BatchFindResult searched() {
  BatchFindResult r;
  r.budget_mib = 100;
  // Out of order as the search runs them; 512 and 384 over the budget.
  for (auto [size, fits] : std::vector<std::pair<int64_t, bool>>{{16, true},
                                                                 {32, true},
                                                                 {64, true},
                                                                 {128, true},
                                                                 {256, true},
                                                                 {512, false},
                                                                 {384, false},
                                                                 {320, true}}) {
    r.trials.push_back({size, fits, size / 4.0, fits ? 1000.0 * std::log2(size) : 0.0});
  }
  r.largest_fitting = 320;
  r.noise = estimate_noise_scale(16, 256, {20}, {6});
  r.recommended = 128;
  return r;
}

TEST(BatchFindChartTest, ThroughputOfFittingSizesInOrderAndTheMarkers) {
  BatchFindResult r = searched();
  Chart chart = batch_find_chart(r);
  ASSERT_EQ(chart.series().size(), 2u);
  const Series& throughput = chart.series()[0];
  EXPECT_EQ(throughput.x(), (std::vector<double>{16, 32, 64, 128, 256, 320}));
  EXPECT_DOUBLE_EQ(throughput.y()[5], 1000.0 * std::log2(320));
  EXPECT_EQ(chart.series()[1].x(), (std::vector<double>{384, 512}));
  ASSERT_EQ(chart.annotations().size(), 3u);
  EXPECT_DOUBLE_EQ(chart.annotations()[0].x(), 320);
  EXPECT_DOUBLE_EQ(chart.annotations()[1].x(), r.noise.b_simple);
  EXPECT_EQ(chart.annotations()[2].kind(), AnnotationKind::kPoint);
  EXPECT_DOUBLE_EQ(chart.annotations()[2].x(), 128);
  EXPECT_DOUBLE_EQ(chart.annotations()[2].y(), 7000);
  EXPECT_EQ(layout_chart(chart).x.scale, AxisScale::kLog10);
  const std::string svg = to_svg(chart);
  for (const char* text : {"recommended 128", "B_simple", "largest that fits 320", "100 MiB"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
  const std::string png = to_png(svg, 800);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(BatchFindChartTest, NoNoiseEstimateNoNoiseLine) {
  BatchFindResult r = searched();
  r.noise = NoiseScale();
  r.noise.b_simple = NAN;
  Chart chart = batch_find_chart(r);
  EXPECT_EQ(chart.annotations().size(), 2u);
  EXPECT_EQ(to_svg(chart).find("B_simple"), std::string::npos);
}

}  // namespace
}  // namespace knob
