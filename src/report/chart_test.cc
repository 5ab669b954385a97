// Charts: the SVG is parsed back as XML (libxml2, already on the system as librsvg's parser)
// and checked for what was drawn — vertices, tick labels, pixel positions, escaping — then
// rasterized with librsvg and the PNG read back with cairo.
#include "knob/report/chart.h"

#include <cairo.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/report/png.h"

namespace knob {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNan = std::nan("");

// ---------------------------------------------------------------- XML helpers

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

// Parses strictly (no network, no recovery); nullptr if not well-formed XML.
Doc parse(const std::string& svg) {
  return Doc(xmlReadMemory(svg.data(), static_cast<int>(svg.size()), "chart.svg", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

// The nodes matching an XPath expression; SVG elements are in the namespace prefix "s".
std::vector<xmlNode*> select(xmlDoc* doc, const std::string& xpath) {
  std::vector<xmlNode*> out;
  std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContext*)> ctx(xmlXPathNewContext(doc),
                                                                   xmlXPathFreeContext);
  xmlXPathRegisterNs(ctx.get(), BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
  std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObject*)> result(
      xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx.get()), xmlXPathFreeObject);
  if (!result || !result->nodesetval) return out;
  for (int i = 0; i < result->nodesetval->nodeNr; ++i)
    out.push_back(result->nodesetval->nodeTab[i]);
  return out;
}

std::string attr(xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, BAD_CAST name);
  if (!value) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

double num_attr(xmlNode* node, const char* name) { return std::stod(attr(node, name)); }

std::string content(xmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

std::vector<std::string> contents(xmlDoc* doc, const std::string& xpath) {
  std::vector<std::string> out;
  for (xmlNode* n : select(doc, xpath)) out.push_back(content(n));
  return out;
}

// The "x,y" pairs of a polyline's points attribute.
std::vector<std::pair<double, double>> vertices(xmlNode* polyline) {
  std::vector<std::pair<double, double>> out;
  std::istringstream in(attr(polyline, "points"));
  std::string pair;
  while (in >> pair) {
    auto comma = pair.find(',');
    out.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
  }
  return out;
}

// Drawn marks of series i: polyline vertices plus dots.
size_t drawn_marks(xmlDoc* doc, size_t series) {
  std::string group = "//s:g[@class='series'][@data-index='" + std::to_string(series) + "']";
  size_t n = select(doc, group + "/s:circle").size();
  for (xmlNode* p : select(doc, group + "/s:polyline")) n += vertices(p).size();
  return n;
}

std::string invalid_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

::testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// ---------------------------------------------------------------- data

// An lr-find-like curve: flat, a valley near 3e-3, then an explosion.
Series lr_find_series(size_t n = 100) {
  std::vector<double> lr, loss;
  for (size_t i = 0; i < n; ++i) {
    double t = static_cast<double>(i) / static_cast<double>(n - 1);
    double x = std::pow(10.0, -7.0 + 8.0 * t);
    lr.push_back(x);
    double u = std::log10(x);
    loss.push_back(2.3 - 1.6 / (1.0 + std::exp(-(u + 4.0) * 2.0)) + 0.02 * std::sin(7 * u) +
                   (u > -1.8 ? std::pow(u + 1.8, 2) * 1.5 : 0.0));
  }
  return Series("loss", lr, loss);
}

Chart log_x_chart() {
  Chart chart;
  chart.x_axis(Axis().label("learning rate").scale(AxisScale::kLog10)).y_axis(Axis().label("loss"));
  return chart;
}

// The points a chart must draw by the documented rule: finite, > 0 on a log axis, inside a
// fixed range.
size_t expected_marks(const Chart& chart, const Series& s) {
  auto ok = [](const Axis& axis, double v) {
    if (!std::isfinite(v)) return false;
    if (axis.scale() == AxisScale::kLog10 && v <= 0) return false;
    if (axis.min() && v < *axis.min()) return false;
    if (axis.max() && v > *axis.max()) return false;
    return true;
  };
  size_t n = 0;
  for (size_t i = 0; i < s.x().size(); ++i)
    n += ok(chart.x_axis(), s.x()[i]) && ok(chart.y_axis(), s.y()[i]);
  return n;
}

// ---------------------------------------------------------------- structure

TEST(ChartSvg, IsWellFormedSvgWithSizeViewBoxAndFont) {
  Chart chart = log_x_chart();
  chart.width(700).height(420).title("LR range test").add(lr_find_series());
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  xmlNode* root = xmlDocGetRootElement(doc.get());
  EXPECT_STREQ(reinterpret_cast<const char*>(root->name), "svg");
  EXPECT_EQ(attr(root, "width"), "700");
  EXPECT_EQ(attr(root, "height"), "420");
  EXPECT_EQ(attr(root, "viewBox"), "0 0 700 420");
  EXPECT_EQ(attr(root, "font-family"), "sans-serif");
  EXPECT_EQ(contents(doc.get(), "//s:text[@class='chart-title']"),
            std::vector<std::string>{"LR range test"});
  EXPECT_EQ(contents(doc.get(), "//s:text[@class='x-label']"),
            std::vector<std::string>{"learning rate"});
  EXPECT_EQ(contents(doc.get(), "//s:g[@class='legend']/s:text"), std::vector<std::string>{"loss"});
}

struct MarkCase {
  const char* name;
  SeriesStyle style;
  Axis x_axis, y_axis;
};

TEST(ChartSvg, DrawsOneMarkPerFiniteInRangePoint) {
  // Seeded data with NaN, ±inf, zeros and negatives sprinkled in.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 3.0);
  std::vector<double> x, y;
  for (int i = 0; i < 300; ++i) {
    double xi = std::pow(10.0, u(rng)), yi = u(rng);
    int r = static_cast<int>(rng() % 20);
    if (r == 0) xi = kNan;
    if (r == 1) yi = kNan;
    if (r == 2) yi = kInf;
    if (r == 3) xi = -kInf;
    if (r == 4) xi = 0.0;
    if (r == 5) xi = -xi;
    x.push_back(xi);
    y.push_back(yi);
  }
  const std::vector<MarkCase> cases = {
      {"line, linear axes", SeriesStyle::kLine, Axis(), Axis()},
      {"points, linear axes", SeriesStyle::kPoints, Axis(), Axis()},
      {"line, log x", SeriesStyle::kLine, Axis().scale(AxisScale::kLog10), Axis()},
      {"points, log x and log y", SeriesStyle::kPoints, Axis().scale(AxisScale::kLog10),
       Axis().scale(AxisScale::kLog10)},
      {"line, fixed y range", SeriesStyle::kLine, Axis(), Axis().range(0.0, 2.0)},
      {"points, fixed x range on log", SeriesStyle::kPoints,
       Axis().scale(AxisScale::kLog10).range(1.0, 100.0), Axis()},
      {"line, one-sided fixed min", SeriesStyle::kLine, Axis().min(10.0), Axis().max(1.0)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Chart chart;
    chart.x_axis(c.x_axis).y_axis(c.y_axis).add(Series("s", x, y).style(c.style));
    Doc doc = parse(to_svg(chart));
    ASSERT_TRUE(doc);
    size_t expected = expected_marks(chart, chart.series()[0]);
    EXPECT_GT(expected, 10u);
    EXPECT_EQ(drawn_marks(doc.get(), 0), expected);
  }
}

TEST(ChartSvg, EveryDrawnMarkLiesInsideThePlotArea) {
  Chart chart = log_x_chart();
  chart.add(lr_find_series())
      .add(Series("pts", {1e-6, 1e-2, 1.0}, {1.0, 2.0, 3.0}).style(SeriesStyle::kPoints));
  ChartLayout l = layout_chart(chart);
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  std::vector<std::pair<double, double>> marks;
  for (xmlNode* p : select(doc.get(), "//s:g[@class='series']/s:polyline")) {
    for (auto v : vertices(p)) marks.push_back(v);
  }
  for (xmlNode* c : select(doc.get(), "//s:g[@class='series']/s:circle")) {
    marks.emplace_back(num_attr(c, "cx"), num_attr(c, "cy"));
  }
  ASSERT_EQ(marks.size(), 103u);
  for (auto [x, y] : marks) {
    EXPECT_GE(x, l.left - 0.01);
    EXPECT_LE(x, l.right + 0.01);
    EXPECT_GE(y, l.top - 0.01);
    EXPECT_LE(y, l.bottom + 0.01);
  }
}

TEST(ChartSvg, NanBreaksALineIntoTwoPolylines) {
  Chart chart;
  chart.add(Series("s", {1, 2, 3, 4, 5, 6}, {1, 4, 2, kNan, 3, 5}));
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  auto lines = select(doc.get(), "//s:g[@class='series']/s:polyline");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(vertices(lines[0]).size(), 3u);
  EXPECT_EQ(vertices(lines[1]).size(), 2u);
  // The gap: the second line starts right of where the first ends.
  EXPECT_LT(vertices(lines[0]).back().first, vertices(lines[1]).front().first);
}

TEST(ChartSvg, AnIsolatedPointOfALineIsADot) {
  Chart chart;
  chart.add(Series("s", {1, 2, 3, 4, 5}, {1, kNan, 2, kInf, 3}));
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  EXPECT_EQ(select(doc.get(), "//s:g[@class='series']/s:polyline").size(), 0u);
  EXPECT_EQ(select(doc.get(), "//s:g[@class='series']/s:circle").size(), 3u);
}

TEST(ChartSvg, StepLineGoesAcrossThenUpOrDown) {
  Chart chart;
  std::vector<double> x = {0, 1, 2, 3, 4}, y = {5, 3, 3, 2, 1};
  chart.add(Series("best", x, y).style(SeriesStyle::kStep));
  ChartLayout l = layout_chart(chart);
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  auto lines = select(doc.get(), "//s:g[@class='series']/s:polyline");
  ASSERT_EQ(lines.size(), 1u);
  auto v = vertices(lines[0]);
  ASSERT_EQ(v.size(), 2 * x.size() - 1);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(v[2 * i].first, l.x.to_pixel(x[i]), 0.01);
    EXPECT_NEAR(v[2 * i].second, l.y.to_pixel(y[i]), 0.01);
    if (i + 1 < x.size()) {  // the corner: next x, this y
      EXPECT_NEAR(v[2 * i + 1].first, l.x.to_pixel(x[i + 1]), 0.01);
      EXPECT_NEAR(v[2 * i + 1].second, l.y.to_pixel(y[i]), 0.01);
    }
  }
}

// ---------------------------------------------------------------- axes

std::vector<std::string> labels(const std::vector<Tick>& ticks) {
  std::vector<std::string> out;
  for (const auto& t : ticks) out.push_back(t.label);
  return out;
}

TEST(ChartAxis, LogTicksOfOneE7ToTenAreTheDecades) {
  const std::vector<std::string> decades = {"1e-7", "1e-6", "1e-5", "1e-4", "1e-3",
                                            "0.01", "0.1",  "1",    "10"};
  Chart fixed = log_x_chart();
  fixed.x_axis(fixed.x_axis().range(1e-7, 10.0)).add(lr_find_series());
  Chart automatic = log_x_chart();
  automatic.add(lr_find_series());  // data from 1e-7 to 10, padded
  for (const Chart* chart : {&fixed, &automatic}) {
    ChartLayout l = layout_chart(*chart);
    EXPECT_EQ(labels(l.x.ticks), decades);
    for (size_t i = 0; i < l.x.ticks.size(); ++i) {
      EXPECT_DOUBLE_EQ(l.x.ticks[i].value, std::pow(10.0, -7 + static_cast<int>(i)));
    }
    Doc doc = parse(to_svg(*chart));
    ASSERT_TRUE(doc);
    EXPECT_EQ(contents(doc.get(), "//s:g[@class='x-tick-labels']/s:text"), decades);
  }
}

TEST(ChartAxis, LogTicksThinOutOverManyDecadesAndUse125WithinOne) {
  Chart wide;
  wide.x_axis(Axis().scale(AxisScale::kLog10).range(1e-30, 1e30)).add(Series("s", {1.0}, {1.0}));
  auto ticks = layout_chart(wide).x.ticks;
  EXPECT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.size(), 12u);
  for (size_t i = 1; i < ticks.size(); ++i) {  // equally many decades apart
    EXPECT_NEAR(std::log10(ticks[i].value) - std::log10(ticks[i - 1].value),
                std::log10(ticks[1].value) - std::log10(ticks[0].value), 1e-9);
  }
  Chart narrow;
  narrow.y_axis(Axis().scale(AxisScale::kLog10).range(1.5, 9.0)).add(Series("s", {1.0}, {2.0}));
  EXPECT_EQ(labels(layout_chart(narrow).y.ticks), (std::vector<std::string>{"2", "5"}));
}

struct LinearCase {
  double lo, hi;
};

TEST(ChartAxis, LinearTicksAreNiceStepsInsideTheRange) {
  const std::vector<LinearCase> cases = {{0, 1},        {-3.7, 12.2}, {0.0012, 0.0031}, {1e6, 5e6},
                                         {-1e-9, 1e-9}, {97, 103},    {0, 0.7}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.lo) + " .. " + std::to_string(c.hi));
    Chart chart;
    chart.y_axis(Axis().range(c.lo, c.hi)).add(Series("s", {0.0}, {c.lo}));
    auto ticks = layout_chart(chart).y.ticks;
    ASSERT_GE(ticks.size(), 2u);
    EXPECT_LE(ticks.size(), 11u);
    double step = ticks[1].value - ticks[0].value;
    double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 ||
                std::abs(mantissa - 5) < 1e-6)
        << step;
    std::set<std::string> distinct;
    for (size_t i = 0; i < ticks.size(); ++i) {
      EXPECT_GE(ticks[i].value, c.lo - 1e-9 * (c.hi - c.lo));
      EXPECT_LE(ticks[i].value, c.hi + 1e-9 * (c.hi - c.lo));
      if (i > 0) {
        EXPECT_NEAR(ticks[i].value - ticks[i - 1].value, step, 1e-9 * step);
      }
      distinct.insert(ticks[i].label);
    }
    EXPECT_EQ(distinct.size(), ticks.size());  // no two ticks read the same
  }
}

TEST(ChartAxis, PointAtOneE3LandsWhereTheLogMappingPutsIt) {
  Chart chart = log_x_chart();
  chart.x_axis(chart.x_axis().range(1e-7, 10.0)).y_axis(Axis().range(0.0, 4.0));
  chart.add(Series("p", {1e-3}, {1.0}).style(SeriesStyle::kPoints));
  ChartLayout l = layout_chart(chart);
  ASSERT_LT(l.left, l.right);
  ASSERT_LT(l.top, l.bottom);
  // 1e-3 is 4 of the 8 decades from 1e-7; y = 1 is a quarter of the way up from 0 to 4.
  double want_x = l.left + (4.0 / 8.0) * (l.right - l.left);
  double want_y = l.bottom - (1.0 / 4.0) * (l.bottom - l.top);
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  auto dots = select(doc.get(), "//s:g[@class='series']/s:circle");
  ASSERT_EQ(dots.size(), 1u);
  EXPECT_NEAR(num_attr(dots[0], "cx"), want_x, 0.006);
  EXPECT_NEAR(num_attr(dots[0], "cy"), want_y, 0.006);
  // And the tick "1e-3" is drawn there.
  auto tick_labels = select(doc.get(), "//s:g[@class='x-tick-labels']/s:text[.='1e-3']");
  ASSERT_EQ(tick_labels.size(), 1u);
  EXPECT_NEAR(num_attr(tick_labels[0], "x"), want_x, 0.006);
}

TEST(ChartAxis, AutomaticRangeCoversDataAndAnnotationsWithPadding) {
  Chart chart;
  chart.add(Series("s", {0, 10}, {100, 200})).annotate(Annotation::vertical_line(20, "v"));
  ChartLayout l = layout_chart(chart);
  EXPECT_DOUBLE_EQ(l.x.min, 0 - 0.05 * 20);
  EXPECT_DOUBLE_EQ(l.x.max, 20 + 0.05 * 20);
  EXPECT_DOUBLE_EQ(l.y.min, 100 - 0.05 * 100);
  EXPECT_DOUBLE_EQ(l.y.max, 200 + 0.05 * 100);
  Chart one_value;
  one_value.add(Series("s", {3, 3}, {5, 5}));
  ChartLayout o = layout_chart(one_value);
  EXPECT_LT(o.x.min, 3);
  EXPECT_GT(o.x.max, 3);
  EXPECT_LT(o.y.min, 5);
  EXPECT_GT(o.y.max, 5);
}

// ---------------------------------------------------------------- annotations, legend

TEST(ChartAnnotations, MarkersLandOnTheirValuesWithTheirLabels) {
  Chart chart = log_x_chart();
  chart.add(lr_find_series())
      .annotate(Annotation::vertical_line(3.2e-3, "steepest " + short_number(3.2e-3)))
      .annotate(Annotation::point(1e-2, 0.9, "valley 1e-2").color("#2ca02c"))
      .annotate(Annotation::horizontal_line(1.0, "target"))
      .annotate(Annotation::vertical_line(kNan, "not found"));
  ChartLayout l = layout_chart(chart);
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  auto texts = contents(doc.get(), "//s:g[@class='annotations']/s:text");
  EXPECT_EQ(texts, (std::vector<std::string>{"steepest 3.2e-3", "valley 1e-2", "target"}));
  auto lines = select(doc.get(), "//s:g[@class='annotations']/s:line");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NEAR(num_attr(lines[0], "x1"), l.x.to_pixel(3.2e-3), 0.006);
  EXPECT_NEAR(num_attr(lines[1], "y1"), l.y.to_pixel(1.0), 0.006);
  auto dots = select(doc.get(), "//s:g[@class='annotations']/s:circle");
  ASSERT_EQ(dots.size(), 1u);
  EXPECT_NEAR(num_attr(dots[0], "cx"), l.x.to_pixel(1e-2), 0.006);
  EXPECT_EQ(attr(dots[0], "fill"), "#2ca02c");
}

TEST(ChartLegend, ListsNamedSeriesAndAvoidsTheData) {
  // Data fill the top-right and bottom-right corners: the legend goes left.
  Chart chart;
  std::vector<double> x, y;
  for (int i = 0; i <= 50; ++i) {
    x.push_back(i);
    y.push_back(i < 25 ? 5.0 : (i % 2 ? 0.0 : 10.0));
  }
  chart.add(Series("zigzag", x, y)).add(Series("", {0, 50}, {5, 5}));
  ChartLayout l = layout_chart(chart);
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  EXPECT_EQ(contents(doc.get(), "//s:g[@class='legend']/s:text"),
            std::vector<std::string>{"zigzag"});
  auto box = select(doc.get(), "//s:g[@class='legend']/s:rect");
  ASSERT_EQ(box.size(), 1u);
  EXPECT_LT(num_attr(box[0], "x"), (l.left + l.right) / 2);
  chart.legend(LegendPosition::kNone);
  Doc none = parse(to_svg(chart));
  EXPECT_TRUE(select(none.get(), "//s:g[@class='legend']").empty());
}

// ---------------------------------------------------------------- text

TEST(ChartText, EveryUserStringIsEscaped) {
  const std::string evil = "<script>alert(1)</script> & \"q\" 'a' ]]>";
  Chart chart;
  chart.title(evil).x_axis(Axis().label(evil)).y_axis(Axis().label(evil));
  chart.add(Series(evil, {1, 2}, {1, 2})).annotate(Annotation::point(1, 1, evil));
  std::string svg = to_svg(chart);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  Doc doc = parse(svg);
  ASSERT_TRUE(doc);
  EXPECT_TRUE(select(doc.get(), "//*[local-name()='script']").empty());
  for (const char* where :
       {"//s:text[@class='chart-title']", "//s:text[@class='x-label']",
        "//s:text[@class='y-label']", "//s:g[@class='legend']/s:text",
        "//s:g[@class='series']/s:title", "//s:g[@class='annotations']/s:text"}) {
    SCOPED_TRACE(where);
    EXPECT_EQ(contents(doc.get(), where), std::vector<std::string>{evil});
  }
}

TEST(ChartText, ControlCharactersAndBadUtf8StillMakeWellFormedXml) {
  Chart chart;
  chart.title(
      "a\x01 b\xff c\xc3 \xe2\x82\xac\xed\xa0\x80 ok");  // control, bad bytes, euro, surrogate
  chart.add(Series("\xce\xbc-loss", {1, 2}, {1, 2}));    // "μ-loss" passes through
  Doc doc = parse(to_svg(chart));
  ASSERT_TRUE(doc);
  auto title = contents(doc.get(), "//s:text[@class='chart-title']");
  ASSERT_EQ(title.size(), 1u);
  EXPECT_TRUE(has_substr(title[0], "\xe2\x82\xac"));  // the valid euro sign survives
  EXPECT_TRUE(has_substr(title[0], " ok"));
  EXPECT_EQ(contents(doc.get(), "//s:g[@class='legend']/s:text"),
            std::vector<std::string>{"\xce\xbc-loss"});
}

TEST(ChartText, ShortNumbers) {
  struct Case {
    double value;
    int digits;
    const char* want;
  };
  const std::vector<Case> cases = {
      {0.0032, 2, "3.2e-3"}, {3.2e-3, 1, "3e-3"}, {0.25, 2, "0.25"},    {0.5, 2, "0.5"},
      {1500, 2, "1500"},     {2.5e6, 2, "2.5e6"}, {-0.5, 1, "-0.5"},    {9.96, 2, "10"},
      {1e-7, 1, "1e-7"},     {0.0, 3, "0"},       {12345, 3, "1.23e4"}, {kNan, 2, "nan"},
      {-kInf, 2, "-inf"},    {0.01, 2, "0.01"},   {999.7, 3, "1000"},   {9999.7, 3, "1e4"},
  };
  for (const auto& c : cases) EXPECT_EQ(short_number(c.value, c.digits), c.want) << c.value;
}

// ---------------------------------------------------------------- output

TEST(ChartSvg, IsDeterministicWithFixedNumberFormat) {
  auto make = [] {
    Chart chart = log_x_chart();
    chart.title("t").add(lr_find_series()).annotate(Annotation::vertical_line(3e-3, "s"));
    return chart;
  };
  std::string a = to_svg(make()), b = to_svg(make());
  EXPECT_EQ(a, b);
  Chart other = make();
  other.series()[0].y()[10] += 0.5;
  EXPECT_NE(to_svg(other), a);
  // Coordinates are plain decimals with at most two places: no exponents, no "-0".
  Doc doc = parse(a);
  ASSERT_TRUE(doc);
  std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?)");
  for (xmlNode* p : select(doc.get(), "//s:polyline")) {
    std::istringstream in(attr(p, "points"));
    std::string pair;
    while (in >> pair) {
      auto comma = pair.find(',');
      EXPECT_TRUE(std::regex_match(pair.substr(0, comma), number)) << pair;
      EXPECT_TRUE(std::regex_match(pair.substr(comma + 1), number)) << pair;
      EXPECT_NE(pair.substr(0, 2), "-0");
    }
  }
}

TEST(ChartSvg, EmptyChartsSayNoData) {
  Chart no_series;
  Chart all_nan;
  all_nan.add(Series("s", {kNan, 1.0}, {1.0, kInf}));
  Chart nothing_on_log;
  nothing_on_log.y_axis(Axis().scale(AxisScale::kLog10)).add(Series("s", {1, 2}, {0, -3}));
  for (const Chart* chart : {&no_series, &all_nan, &nothing_on_log}) {
    EXPECT_FALSE(layout_chart(*chart).has_data);
    Doc doc = parse(to_svg(*chart));
    ASSERT_TRUE(doc);
    EXPECT_EQ(contents(doc.get(), "//s:text[@class='no-data']"),
              std::vector<std::string>{"no data"});
    EXPECT_TRUE(select(doc.get(), "//s:polyline | //s:circle").empty());
  }
}

// ---------------------------------------------------------------- malformed input

TEST(ChartValidation, RejectsMalformedChartsNamingTheField) {
  struct Bad {
    const char* name;
    std::function<Chart()> make;
    const char* names;
  };
  auto with = [](std::function<void(Chart&)> f) {
    return [f] {
      Chart c;
      c.add(Series("s", {1, 2}, {1, 2}));
      f(c);
      return c;
    };
  };
  const std::vector<Bad> cases = {
      {"log x with range [0, 1]",
       with([](Chart& c) { c.x_axis(Axis().scale(AxisScale::kLog10).range(0.0, 1.0)); }),
       "x_axis.min = 0"},
      {"log y with a negative max",
       with([](Chart& c) { c.y_axis(Axis().scale(AxisScale::kLog10).max(-1.0)); }),
       "y_axis.max = -1"},
      {"min > max", with([](Chart& c) { c.x_axis(Axis().range(2.0, 1.0)); }), "x_axis.max = 1"},
      {"min == max", with([](Chart& c) { c.y_axis(Axis().range(1.0, 1.0)); }), "y_axis.max = 1"},
      {"NaN fixed min", with([](Chart& c) { c.x_axis(Axis().min(kNan)); }), "x_axis.min = nan"},
      {"infinite fixed max", with([](Chart& c) { c.y_axis(Axis().max(kInf)); }),
       "y_axis.max = inf"},
      {"negative padding", with([](Chart& c) { c.x_axis(Axis().padding(-0.1)); }),
       "x_axis.padding = -0.1"},
      {"width 0", with([](Chart& c) { c.width(0); }), "width = 0"},
      {"width negative", with([](Chart& c) { c.width(-640); }), "width = -640"},
      {"height 0", with([](Chart& c) { c.height(0); }), "height = 0"},
      {"height too small", with([](Chart& c) { c.height(20); }), "height = 20"},
      {"x and y of different lengths", with([](Chart& c) {
         c.add(Series("t", {1, 2, 3}, {1}));
       }),
       "series[1].x.size() = 3"},
      {"colour with markup", with([](Chart& c) { c.series()[0].color("red\" onload=\"x"); }),
       "series[0].color = "},
      {"colour bad hex", with([](Chart& c) { c.series()[0].color("#12345"); }),
       "series[0].color = \"#12345\""},
      {"line width 0", with([](Chart& c) { c.series()[0].line_width(0.0); }),
       "series[0].line_width = 0"},
      {"annotation colour",
       with([](Chart& c) { c.annotate(Annotation::point(1, 1, "").color("")); }),
       "annotations[0].color = \"\""},
      {"linear data too wide", with([](Chart& c) {
         c.add(Series("w", {-1.7e308, 1.7e308}, {1, 2}));
       }),
       "x_axis range = \"-1.7e+308 .. 1.7e+308\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Chart chart = c.make();
    EXPECT_TRUE(has_substr(invalid_message([&] { to_svg(chart); }), c.names));
    EXPECT_TRUE(has_substr(invalid_message([&] { layout_chart(chart); }), c.names));
  }
}

TEST(ChartValidation, AcceptsBoundaryCharts) {
  Chart chart;
  chart.width(100).height(100).add(Series("s", {1e-300, 1e300}, {1e-300, 1e300}));
  chart.x_axis(Axis().scale(AxisScale::kLog10).padding(0.0));
  chart.y_axis(Axis().scale(AxisScale::kLog10).padding(1.0));
  EXPECT_TRUE(parse(to_svg(chart)));
  chart.series()[0].color("#abc").line_width(50.0);
  EXPECT_TRUE(parse(to_svg(chart)));
}

// ---------------------------------------------------------------- PNG

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t big_endian(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

// A file name of this process only: test binaries of several build trees may run at once.
std::string temp_path(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / (std::to_string(getpid()) + "_" + name))
      .string();
}

TEST(ChartPng, IsARealPngOfTheRequestedWidthShowingTheData) {
  Chart chart = log_x_chart();
  chart.title("LR range test").add(lr_find_series());
  std::string path = temp_path("knob_chart_test.png");
  std::filesystem::remove(path);
  write_png(to_svg(chart), path, 960);
  std::string png = read_file(path);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian(png, 16), 960u);
  EXPECT_EQ(big_endian(png, 20), 600u);  // 640x400 scaled to 960 wide

  // Read back with cairo: the pixels are not all alike, and the series' blue is there.
  cairo_surface_t* image = cairo_image_surface_create_from_png(path.c_str());
  ASSERT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(image), 960);
  int w = cairo_image_surface_get_width(image), h = cairo_image_surface_get_height(image);
  int stride = cairo_image_surface_get_stride(image);
  const unsigned char* data = cairo_image_surface_get_data(image);
  std::set<uint32_t> colours;
  size_t blue = 0, non_white = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint32_t argb = *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x);
      colours.insert(argb);
      int r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff;
      non_white += argb != 0xffffffffu;
      blue += std::abs(r - 0x1f) < 24 && std::abs(g - 0x77) < 24 && std::abs(b - 0xb4) < 24;
    }
  }
  cairo_surface_destroy(image);
  EXPECT_GT(colours.size(), 16u);
  EXPECT_GT(non_white, static_cast<size_t>(w * h / 100));
  EXPECT_GT(blue, 500u);
  std::filesystem::remove(path);
}

TEST(ChartPng, InMemoryBytesMatchTheFile) {
  Chart chart;
  chart.add(Series("s", {1, 2, 3}, {3, 1, 2}));
  std::string svg = to_svg(chart);
  std::string path = temp_path("knob_chart_test_mem.png");
  write_png(svg, path, 320);
  EXPECT_EQ(read_file(path), to_png(svg, 320));
  std::filesystem::remove(path);
}

TEST(ChartPng, RendersOnSeveralThreadsAtOnce) {
  Chart chart = log_x_chart();
  chart.title("threads").add(lr_find_series());
  std::string svg = to_svg(chart);
  std::string want = to_png(svg, 480);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) got[t] = to_png(svg, 480);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& png : got) EXPECT_EQ(png, want);
}

TEST(ChartPng, ErrorsNameThePathOrTheProblem) {
  std::string svg = to_svg(Chart().add(Series("s", {1, 2}, {1, 2})));
  std::string unwritable = "/nonexistent-knob-dir/sub/chart.png";
  try {
    write_png(svg, unwritable, 320);
    ADD_FAILURE() << "no error for an unwritable path";
  } catch (const Error& e) {
    EXPECT_TRUE(has_substr(e.what(), unwritable));
  }
  std::string bad_path = temp_path("knob_bad.png");
  try {
    write_png("<svg xmlns=\"http://www.w3.org/2000/svg\"><unclosed>", bad_path, 320);
    ADD_FAILURE() << "no error for malformed SVG";
  } catch (const Error& e) {
    EXPECT_TRUE(has_substr(e.what(), bad_path));
  }
  EXPECT_FALSE(std::filesystem::exists(bad_path));
  EXPECT_THROW(to_png("not an svg at all", 320), Error);
  EXPECT_THROW(to_png("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 320), Error);  // no size
  EXPECT_TRUE(has_substr(invalid_message([&] { to_png(svg, 0); }), "width_px = 0"));
  EXPECT_TRUE(has_substr(invalid_message([&] { to_png(svg, 100000); }), "width_px = 100000"));
}

// ---------------------------------------------------------------- categories, rects, grids

TEST(ChartCategories, TicksAreTheCategoriesAtTheirIndices) {
  Chart c;
  c.x_axis(Axis().label("optimizer").categories({"adam", "sgd", "<rms>"}));
  c.add(Series("s", {0, 1, 2, 1}, {1, 2, 3, 4}).style(SeriesStyle::kPoints));
  ChartLayout l = layout_chart(c);
  ASSERT_EQ(l.x.ticks.size(), 3u);
  EXPECT_EQ(l.x.ticks[2].label, "<rms>");
  EXPECT_DOUBLE_EQ(l.x.min, -0.5);
  EXPECT_DOUBLE_EQ(l.x.max, 2.5);
  Doc doc = parse(to_svg(c));
  ASSERT_TRUE(doc);
  EXPECT_EQ(contents(doc.get(), "//s:g[@class='x-tick-labels']/s:text"),
            (std::vector<std::string>{"adam", "sgd", "<rms>"}));
  EXPECT_EQ(select(doc.get(), "//s:g[@class='series']/s:circle").size(), 4u);
  std::string log_categories = invalid_message(
      [] { to_svg(Chart().x_axis(Axis().categories({"a"}).scale(AxisScale::kLog10))); });
  EXPECT_NE(log_categories.find("x_axis.scale"), std::string::npos) << log_categories;
}

TEST(ChartRects, AreDrawnUnderTheSeriesAndCountTowardsTheRange) {
  Chart c;
  c.fill(FilledRect().x0(0).x1(2).y0(-1).y1(1).color("#abc").label("a & b"));
  c.fill(FilledRect().x0(5).x1(6).y0(0).y1(1).color("red"));
  ChartLayout l = layout_chart(c);
  EXPECT_TRUE(l.has_data);  // rects alone are data
  EXPECT_LE(l.x.min, 0.0);
  EXPECT_GE(l.x.max, 6.0);
  Doc doc = parse(to_svg(c));
  ASSERT_TRUE(doc);
  auto rects = select(doc.get(), "//s:g[@class='rects']/s:rect");
  ASSERT_EQ(rects.size(), 2u);
  EXPECT_EQ(attr(rects[0], "fill"), "#abc");
  EXPECT_NEAR(num_attr(rects[0], "x"), l.x.to_pixel(0.0), 0.01);
  EXPECT_NEAR(num_attr(rects[0], "width"), l.x.to_pixel(2.0) - l.x.to_pixel(0.0), 0.02);
  EXPECT_NEAR(num_attr(rects[0], "y"), l.y.to_pixel(1.0), 0.01);
  EXPECT_EQ(contents(doc.get(), "//s:g[@class='rects']/s:rect/s:title"),
            (std::vector<std::string>{"a & b"}));
  std::string bad = invalid_message([] { to_svg(Chart().fill(FilledRect().color("url(#x)"))); });
  EXPECT_NE(bad.find("rects[0].color"), std::string::npos) << bad;
}

TEST(ChartGrid, PlacesEachChartInItsCellUnderTheTitle) {
  std::vector<Chart> charts;
  for (int i = 0; i < 5; ++i) {
    Chart c;
    c.width(300).height(200 + 10 * i);
    c.add(Series("s", {0, 1}, {0, double(i)}));
    charts.push_back(c);
  }
  std::string svg = to_svg_grid(charts, 3, "Slice <Plot>");
  Doc doc = parse(svg);
  ASSERT_TRUE(doc);
  auto nested = select(doc.get(), "/s:svg/s:g[@class='cell']/s:svg");
  ASSERT_EQ(nested.size(), 5u);
  EXPECT_EQ(num_attr(nested[1], "x"), 300.0);
  EXPECT_EQ(num_attr(nested[3], "x"), 0.0);
  EXPECT_EQ(num_attr(nested[3], "y"), 36.0 + 220.0);  // under the first row's tallest chart
  xmlNode* root = xmlDocGetRootElement(doc.get());
  EXPECT_EQ(num_attr(root, "width"), 900.0);
  EXPECT_EQ(num_attr(root, "height"), 36.0 + 220.0 + 240.0);
  EXPECT_EQ(contents(doc.get(), "/s:svg/s:text"), (std::vector<std::string>{"Slice <Plot>"}));
  EXPECT_EQ(svg, to_svg_grid(charts, 3, "Slice <Plot>"));
  EXPECT_EQ(to_png(svg, 450).substr(1, 3), "PNG");
  EXPECT_NE(invalid_message([] { to_svg_grid({}, 1, ""); }).find("charts"), std::string::npos);
  EXPECT_NE(invalid_message([&] { to_svg_grid(charts, 0, ""); }).find("columns = 0"),
            std::string::npos);
}

TEST(ChartAxis, AxisTicksMatchWhatAChartDraws) {
  std::vector<Tick> ticks = axis_ticks(AxisScale::kLog10, 1e-5, 0.1, 300);
  ASSERT_GE(ticks.size(), 2u);
  for (const Tick& t : ticks) {
    EXPECT_NEAR(std::log10(t.value), std::round(std::log10(t.value)), 1e-12) << t.label;
  }
  EXPECT_TRUE(axis_ticks(AxisScale::kLinear, 1.0, 1.0, 300).empty());
  EXPECT_EQ(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

}  // namespace
}  // namespace knob
