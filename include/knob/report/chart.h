// Chart: a 2-D chart as a value (title, linear or log10 axes, line/point/step series, marker
// lines and labelled points) and to_svg(), its deterministic SVG (same chart, same bytes;
// every user string XML-escaped). Points that cannot be drawn are skipped and a line breaks
// there: NaN/inf, values <= 0 on a log axis, values outside a fixed range. layout_chart()
// gives the pixel geometry; report/png.h rasterizes. Safe to render from several threads.
//
// Example:
//   knob::Chart chart;
//   chart.title("Learning-rate range test")
//       .x_axis(knob::Axis().label("learning rate").scale(knob::AxisScale::kLog10))
//       .y_axis(knob::Axis().label("loss"));
//   chart.add(knob::Series("loss", lrs, losses));
//   chart.annotate(knob::Annotation::point(3.2e-3, 0.41, "steepest 3.2e-3"));
//   std::string svg = knob::to_svg(chart);  // ticks 1e-7 ... 0.01, 0.1, 1, 10
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "knob/core/arg.h"

namespace knob {

enum class AxisScale { kLinear, kLog10 };

// Linear axes get ticks at 1-2-5 steps; log10 axes at decades labelled 1e-7 ... 1e-3, 0.01,
// 0.1, 1, 10, 100, 1000, 1e4 (every n-th decade over many; 1-2-5 multiples within one).
struct Axis {
  KNOB_ARG(std::string, label) = "";
  KNOB_ARG(AxisScale, scale) = AxisScale::kLinear;
  // Fixed ends of the range; an unset end is chosen from the data (and annotations), padded.
  // On a log axis a fixed end must be > 0.
  KNOB_ARG(std::optional<double>, min);
  KNOB_ARG(std::optional<double>, max);
  // Automatic ends are pushed out by this fraction of the data span (in log space on a log axis).
  KNOB_ARG(double, padding) = 0.05;
  // A categorical axis (linear only): category i sits at value i, its label the tick there;
  // the range is [-0.5, n - 0.5] unless fixed.
  KNOB_ARG(std::vector<std::string>, categories);

 public:
  Axis& range(double min, double max) {
    min_ = min;
    max_ = max;
    return *this;
  }
};

enum class SeriesStyle {
  kLine,    // a polyline through the points, in order
  kPoints,  // a dot at each point (scatter)
  kStep,    // horizontal to the next x, then vertical (a best-so-far line)
};

struct Series {
  Series() = default;
  Series(std::string name, std::vector<double> x, std::vector<double> y)
      : name_(std::move(name)), x_(std::move(x)), y_(std::move(y)) {}

  // Shown in the legend; "" keeps the series out of the legend.
  KNOB_ARG(std::string, name) = "";
  // Same length; point i is (x[i], y[i]).
  KNOB_ARG(std::vector<double>, x);
  KNOB_ARG(std::vector<double>, y);
  KNOB_ARG(SeriesStyle, style) = SeriesStyle::kLine;
  // "#rgb", "#rrggbb" or a CSS colour name; "" takes the next colour of the palette.
  KNOB_ARG(std::string, color) = "";
  KNOB_ARG(bool, dashed) = false;
  KNOB_ARG(double, line_width) = 1.75;
  // Dots of kPoints, and of a line's isolated points (between two skipped ones).
  KNOB_ARG(double, point_radius) = 3.0;
};

enum class AnnotationKind {
  kVerticalLine,    // a dashed line at x across the plot, labelled at the top
  kHorizontalLine,  // a dashed line at y across the plot, labelled at the right
  kPoint,           // a highlighted dot at (x, y), labelled beside it
};

// A marker; skipped (like a point) when its coordinates cannot be drawn.
struct Annotation {
  static Annotation vertical_line(double x, std::string label);
  static Annotation horizontal_line(double y, std::string label);
  static Annotation point(double x, double y, std::string label);

  KNOB_ARG(AnnotationKind, kind) = AnnotationKind::kPoint;
  KNOB_ARG(double, x) = 0.0;
  KNOB_ARG(double, y) = 0.0;
  KNOB_ARG(std::string, label) = "";
  KNOB_ARG(std::string, color) = "#d62728";
};

// A filled rectangle in data coordinates, drawn under the series (a contour's cells, a bar).
// Its corners count towards the automatic ranges; one that cannot be drawn whole is skipped.
struct FilledRect {
  KNOB_ARG(double, x0) = 0.0;
  KNOB_ARG(double, x1) = 0.0;
  KNOB_ARG(double, y0) = 0.0;
  KNOB_ARG(double, y1) = 0.0;
  KNOB_ARG(std::string, color) = "#1f77b4";
  // Shown as the rectangle's tooltip (<title>); "" for none.
  KNOB_ARG(std::string, label) = "";
};

enum class LegendPosition { kAuto, kTopRight, kTopLeft, kBottomRight, kBottomLeft, kNone };

struct Chart {
  KNOB_ARG(std::string, title) = "";
  KNOB_ARG(Axis, x_axis);
  KNOB_ARG(Axis, y_axis);
  // Size in pixels (the SVG's width, height and viewBox); each must be >= 100.
  KNOB_ARG(int, width) = 640;
  KNOB_ARG(int, height) = 400;
  // kAuto: the inside corner of the plot that covers the fewest points.
  KNOB_ARG(LegendPosition, legend) = LegendPosition::kAuto;
  KNOB_ARG(std::vector<Series>, series);
  KNOB_ARG(std::vector<Annotation>, annotations);
  KNOB_ARG(std::vector<FilledRect>, rects);

 public:
  Chart& add(Series series) {
    series_.push_back(std::move(series));
    return *this;
  }
  Chart& annotate(Annotation annotation) {
    annotations_.push_back(std::move(annotation));
    return *this;
  }
  Chart& fill(FilledRect rect) {
    rects_.push_back(std::move(rect));
    return *this;
  }
};

// The SVG document (UTF-8). Throws InvalidArgument for a bad size, range, colour, padding,
// line width or x/y length, naming the field ("x_axis.min = 0: ...").
std::string to_svg(const Chart& chart);

// Several charts in one SVG document: `columns` per row, each at its own size (nested <svg>
// elements), under an optional title. Throws InvalidArgument for no charts or columns < 1.
std::string to_svg_grid(const std::vector<Chart>& charts, int columns, const std::string& title);

// `text` as XML character data or attribute value (what to_svg does to every user string):
// markup characters as entities, invalid UTF-8 and characters XML forbids as U+FFFD.
std::string xml_escape(std::string_view text);

// ---------------------------------------------------------------- geometry (for callers
// that place things over a rendered chart: tests, the dashboard's hover)

struct Tick {
  double value = 0.0;
  std::string label;
};

struct AxisLayout {
  AxisScale scale = AxisScale::kLinear;
  double min = 0.0, max = 1.0;              // the range shown, in data units
  double pixel_min = 0.0, pixel_max = 1.0;  // where min and max land (y: bottom and top)
  std::vector<Tick> ticks;
  // The pixel of a value in [min, max] (> 0 on a log axis).
  double to_pixel(double value) const;
};

struct ChartLayout {
  bool has_data = false;  // false: the chart says "no data" and has no axes
  double left = 0.0, top = 0.0, right = 0.0, bottom = 0.0;  // the plot area, pixels
  AxisLayout x, y;
};

// What to_svg draws: the same validation, ranges, ticks and plot area.
ChartLayout layout_chart(const Chart& chart);

// The ticks to_svg puts on an axis showing [min, max] over `length_px` pixels, one about every
// `spacing_px` (for charts drawn outside Chart, e.g. parallel coordinates).
std::vector<Tick> axis_ticks(AxisScale scale, double min, double max, double length_px,
                             double spacing_px = 45.0);

// A short label for a number with `digits` significant digits: 0.0032 -> "3.2e-3",
// 0.25 -> "0.25", 1500 -> "1500", 2.5e6 -> "2.5e6". For annotation labels.
std::string short_number(double value, int digits = 2);

}  // namespace knob
