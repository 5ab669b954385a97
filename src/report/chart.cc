#include "knob/report/chart.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "knob/core/error.h"

namespace knob {
namespace {

// matplotlib's "tab10": distinct, colour-blind friendly enough, familiar from Optuna's plots.
constexpr std::array<const char*, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                  "#bcbd22", "#17becf"};
constexpr int kMinSize = 100;
constexpr double kTickFont = 11.0;   // tick labels, legend and annotation labels
constexpr double kGlyphWidth = 0.6;  // a sans-serif glyph is about 0.6 em wide on average
constexpr double kLegendRow = 18.0;
constexpr double kLegendPad = 6.0;
constexpr double kLegendSwatch = 22.0;
constexpr double kInset = 8.0;                        // legend distance from the plot frame
constexpr double kLog10Max = 308.25;                  // log10 of the largest double
constexpr double kLog10Min = -323.0;                  // log10 of (about) the smallest denormal
constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// ---------------------------------------------------------------- text

// Length of the valid UTF-8 sequence starting at s[i] (0 if invalid, or a code point XML 1.0
// does not allow: surrogates, U+FFFE, U+FFFF).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s[k]); };
  unsigned lead = byte(i);
  size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  if (lead == 0xEF && byte(i + 1) == 0xBF && byte(i + 2) >= 0xBE) return 0;  // U+FFFE, U+FFFF
  return n;
}

// Appends `text` as XML character data / attribute value: markup characters become entities,
// bytes that are not valid UTF-8 and characters XML 1.0 forbids become U+FFFD.
void append_escaped(std::string& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            out += kReplacement;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

// Estimated rendered width: code points × average glyph width. Only used for layout.
double text_width(std::string_view text, double font_size) {
  size_t code_points = 0;
  for (char c : text) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return static_cast<double>(code_points) * kGlyphWidth * font_size;
}

// A pixel coordinate: fixed, at most 2 decimals, trailing zeros dropped, never "-0".
std::string num(double v) {
  assert(std::isfinite(v));
  double r = std::round(v * 100.0) / 100.0;
  if (r == 0.0) r = 0.0;
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, r, std::chars_format::fixed, 2).ptr;
  std::string_view s(buf, static_cast<size_t>(end - buf));
  while (s.back() == '0') s.remove_suffix(1);
  if (s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

// v with exactly `decimals` decimals; a value that rounds to zero has no minus sign.
std::string fixed_decimals(double v, int decimals) {
  char buf[512];
  auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals).ptr;
  std::string s(buf, static_cast<size_t>(end - buf));
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

// 10^k, exactly the double nearest to it.
double pow10(int k) {
  std::string text = "1e" + std::to_string(k);
  double v = 0.0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// "1e-7" ... "1e-3", "0.01", "0.1", "1", "10", "100", "1000", "1e4" ...
std::string decade_label(int k) {
  if (k >= -2 && k <= 3) return fixed_decimals(pow10(k), std::max(0, -k));
  return "1e" + std::to_string(k);
}

// ---------------------------------------------------------------- validation

bool valid_color(const std::string& color) {
  if (color.empty()) return false;
  if (color[0] == '#') {
    if (color.size() != 4 && color.size() != 7) return false;
    return std::all_of(color.begin() + 1, color.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  }
  return color.size() <= 32 && std::all_of(color.begin(), color.end(), [](char c) {
           return std::isalpha(static_cast<unsigned char>(c));
         });
}

constexpr const char* kColorRule = "must be \"#rgb\", \"#rrggbb\" or a CSS colour name (letters)";

void check_axis(const Axis& axis, const std::string& name) {
  bool log = axis.scale() == AxisScale::kLog10;
  for (const auto& [end, value] : {std::pair{"min", axis.min()}, std::pair{"max", axis.max()}}) {
    if (!value) continue;
    std::string field = name + "." + end;
    KNOB_CHECK(std::isfinite(*value), field, *value, "must be finite (or unset for automatic)");
    KNOB_CHECK(!log || *value > 0, field, *value,
               "a log axis needs a range > 0 (or leave it unset for automatic)");
  }
  if (axis.min() && axis.max()) {
    KNOB_CHECK(*axis.max() > *axis.min(), name + ".max", *axis.max(),
               "must be > " + name + ".min (" + detail::format_value(*axis.min()) + ")");
  }
  KNOB_CHECK(std::isfinite(axis.padding()) && axis.padding() >= 0 && axis.padding() <= 1,
             name + ".padding", axis.padding(), "must be in [0, 1] (a fraction of the data span)");
  KNOB_CHECK(axis.categories().empty() || !log, name + ".scale", "log10",
             "a categorical axis (" + name + ".categories) must be linear");
}

void check_chart(const Chart& chart) {
  KNOB_CHECK(chart.width() >= kMinSize, "width", chart.width(),
             "must be >= " + std::to_string(kMinSize) + " pixels");
  KNOB_CHECK(chart.height() >= kMinSize, "height", chart.height(),
             "must be >= " + std::to_string(kMinSize) + " pixels");
  check_axis(chart.x_axis(), "x_axis");
  check_axis(chart.y_axis(), "y_axis");
  for (size_t i = 0; i < chart.series().size(); ++i) {
    const Series& s = chart.series()[i];
    std::string field = "series[" + std::to_string(i) + "]";
    KNOB_CHECK(s.x().size() == s.y().size(), field + ".x.size()", s.x().size(),
               "must equal " + field + ".y.size() (" + std::to_string(s.y().size()) + ")");
    KNOB_CHECK(s.color().empty() || valid_color(s.color()), field + ".color", s.color(),
               kColorRule);
    KNOB_CHECK(std::isfinite(s.line_width()) && s.line_width() > 0 && s.line_width() <= 50,
               field + ".line_width", s.line_width(), "must be in (0, 50] pixels");
    KNOB_CHECK(std::isfinite(s.point_radius()) && s.point_radius() > 0 && s.point_radius() <= 50,
               field + ".point_radius", s.point_radius(), "must be in (0, 50] pixels");
  }
  for (size_t i = 0; i < chart.annotations().size(); ++i) {
    const Annotation& a = chart.annotations()[i];
    KNOB_CHECK(valid_color(a.color()), "annotations[" + std::to_string(i) + "].color", a.color(),
               kColorRule);
  }
  for (size_t i = 0; i < chart.rects().size(); ++i) {
    KNOB_CHECK(valid_color(chart.rects()[i].color()), "rects[" + std::to_string(i) + "].color",
               chart.rects()[i].color(), kColorRule);
  }
}

// ---------------------------------------------------------------- ranges

bool usable(AxisScale scale, double v) {
  return std::isfinite(v) && (scale == AxisScale::kLinear || v > 0);
}

double transform(AxisScale scale, double v) {
  return scale == AxisScale::kLog10 ? std::log10(v) : v;
}

// An interval in transformed units (log10 of the value on a log axis); ends may be infinite.
struct Interval {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool contains(double t) const {
    double eps = std::isfinite(hi - lo) ? 1e-9 * (hi - lo) : 0.0;
    return t >= lo - eps && t <= hi + eps;
  }
};

Interval fixed_interval(const Axis& axis) {
  Interval out;
  if (axis.min()) out.lo = transform(axis.scale(), *axis.min());
  if (axis.max()) out.hi = transform(axis.scale(), *axis.max());
  return out;
}

// A span to open a degenerate range around v, in transformed units.
double default_span(AxisScale scale, double t) {
  if (scale == AxisScale::kLog10) return 1.0;
  return t == 0.0 ? 1.0 : 0.2 * std::abs(t);
}

struct Resolved {
  double t_lo, t_hi;  // transformed
  double min, max;    // data units
};

// The shown range of an axis from its fixed ends and the transformed values that must fit.
Resolved resolve(const Axis& axis, const std::string& name, const std::vector<double>& values) {
  AxisScale scale = axis.scale();
  bool have = !values.empty();
  double d_lo = have ? *std::min_element(values.begin(), values.end()) : 0.0;
  double d_hi = have ? *std::max_element(values.begin(), values.end()) : 1.0;
  Interval fixed = fixed_interval(axis);
  double lo = 0.0, hi = 0.0;
  if (!axis.categories().empty()) {
    lo = axis.min() ? fixed.lo : -0.5;
    hi = axis.max() ? fixed.hi : static_cast<double>(axis.categories().size()) - 0.5;
  } else if (axis.min() && axis.max()) {
    lo = fixed.lo;
    hi = fixed.hi;
  } else if (axis.min()) {
    lo = fixed.lo;
    hi = have ? d_hi + axis.padding() * (d_hi - lo) : lo;
    if (!(hi > lo)) hi = lo + default_span(scale, lo);
  } else if (axis.max()) {
    hi = fixed.hi;
    lo = have ? d_lo - axis.padding() * (hi - d_lo) : hi;
    if (!(hi > lo)) lo = hi - default_span(scale, hi);
  } else {
    double scale_of = std::max(std::abs(d_lo), std::abs(d_hi));
    if (d_hi - d_lo <= 1e-9 * scale_of) {  // one value (or values equal to 9 digits)
      double half = default_span(scale, d_hi) / 2;
      d_lo -= half;
      d_hi += half;
    }
    double pad = axis.padding() * (d_hi - d_lo);
    lo = d_lo - pad;
    hi = d_hi + pad;
  }
  if (scale == AxisScale::kLog10) {
    lo = std::max(lo, kLog10Min);
    hi = std::min(hi, kLog10Max);
  }
  // Only a linear axis can fail here: its data or fixed ends span more than a double holds.
  KNOB_CHECK(std::isfinite(lo) && std::isfinite(hi) && std::isfinite(hi - lo) && hi > lo,
             name + " range",
             detail::format_value(axis.min() ? *axis.min() : d_lo) + " .. " +
                 detail::format_value(axis.max() ? *axis.max() : d_hi),
             "too wide to draw on a linear axis (use a log axis or a narrower fixed range)");
  Resolved out{lo, hi, 0.0, 0.0};
  if (scale == AxisScale::kLog10) {
    out.min = axis.min() ? *axis.min() : std::pow(10.0, lo);
    out.max = axis.max() ? *axis.max() : std::pow(10.0, hi);
  } else {
    out.min = lo;
    out.max = hi;
  }
  return out;
}

// ---------------------------------------------------------------- ticks

std::string linear_label(double v, double step) {
  if (v == 0.0) return "0";
  int step_exp = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  int value_exp = static_cast<int>(std::floor(std::log10(std::abs(v)) + 1e-9));
  if (std::abs(v) >= 1e6 || step < 1e-4) {
    return short_number(v, std::clamp(value_exp - step_exp + 1, 1, 15));
  }
  return fixed_decimals(v, std::max(0, -step_exp));
}

// Ticks at multiples of a 1-2-5 step, about `target` of them.
std::vector<Tick> linear_ticks(double lo, double hi, int target) {
  double raw = (hi - lo) / std::max(target, 1);
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double r = raw / magnitude;
  double step = (r < 1.5 ? 1.0 : r < 3.0 ? 2.0 : r < 7.0 ? 5.0 : 10.0) * magnitude;
  double k0 = std::ceil(lo / step - 1e-9);
  double k1 = std::floor(hi / step + 1e-9);
  std::vector<Tick> ticks;
  for (double k = k0; k <= k1 && ticks.size() < 100; k += 1.0) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) v = 0.0;
    ticks.push_back({v, linear_label(v, step)});
  }
  return ticks;
}

// Decades (every `stride`-th if there are more than `max_count`); within one decade,
// 1-2-5 multiples; within less, linear ticks.
std::vector<Tick> log_ticks(double t_lo, double t_hi, int max_count) {
  std::vector<Tick> ticks;
  int k0 = static_cast<int>(std::ceil(t_lo - 1e-9));
  int k1 = static_cast<int>(std::floor(t_hi + 1e-9));
  int count = k1 - k0 + 1;
  if (count >= 2) {
    int stride = (count + max_count - 1) / std::max(max_count, 1);
    for (int k = k0; k <= k1; ++k) {
      if (((k % stride) + stride) % stride == 0) ticks.push_back({pow10(k), decade_label(k)});
    }
    if (ticks.size() < 2) ticks = {{pow10(k0), decade_label(k0)}, {pow10(k1), decade_label(k1)}};
    return ticks;
  }
  Interval range{t_lo, t_hi};
  for (int k = static_cast<int>(std::floor(t_lo)); k <= static_cast<int>(std::ceil(t_hi)); ++k) {
    for (double m : {1.0, 2.0, 5.0}) {
      double v = m * pow10(k);
      if (range.contains(std::log10(v))) ticks.push_back({v, short_number(v, 1)});
    }
  }
  if (ticks.size() >= 2) return ticks;
  return linear_ticks(std::pow(10.0, t_lo), std::pow(10.0, t_hi), 4);
}

std::vector<Tick> make_ticks(AxisScale scale, const Resolved& r, double length, double spacing) {
  int target = std::clamp(static_cast<int>(length / spacing), 2, 10);
  if (scale == AxisScale::kLog10) return log_ticks(r.t_lo, r.t_hi, target + 2);
  return linear_ticks(r.t_lo, r.t_hi, target);
}

// A categorical axis' ticks: each category inside the range, at its index.
std::optional<std::vector<Tick>> category_ticks(const Axis& axis, const Resolved& r) {
  if (axis.categories().empty()) return std::nullopt;
  std::vector<Tick> ticks;
  Interval range{r.t_lo, r.t_hi};
  for (size_t i = 0; i < axis.categories().size(); ++i) {
    if (range.contains(static_cast<double>(i))) {
      ticks.push_back({static_cast<double>(i), axis.categories()[i]});
    }
  }
  return ticks;
}

double widest(const std::vector<Tick>& ticks) {
  double w = 0.0;
  for (const auto& t : ticks) w = std::max(w, text_width(t.label, kTickFont));
  return w;
}

// ---------------------------------------------------------------- layout

struct Box {
  double x0, y0, x1, y1;
  bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  bool inside(const Box& o) const { return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1; }
};

// Everything to_svg needs: the public layout plus the data to draw.
struct Plan {
  ChartLayout layout;
  bool drawable(double x, double y) const;
};

bool Plan::drawable(double x, double y) const {
  const AxisLayout& ax = layout.x;
  const AxisLayout& ay = layout.y;
  if (!usable(ax.scale, x) || !usable(ay.scale, y)) return false;
  Interval ix{transform(ax.scale, ax.min), transform(ax.scale, ax.max)};
  Interval iy{transform(ay.scale, ay.min), transform(ay.scale, ay.max)};
  return ix.contains(transform(ax.scale, x)) && iy.contains(transform(ay.scale, y));
}

Plan plan(const Chart& chart) {
  check_chart(chart);
  const Axis& x_axis = chart.x_axis();
  const Axis& y_axis = chart.y_axis();
  AxisScale xs = x_axis.scale(), ys = y_axis.scale();
  Interval fx = fixed_interval(x_axis), fy = fixed_interval(y_axis);
  auto fits_x = [&](double x) { return usable(xs, x) && fx.contains(transform(xs, x)); };
  auto fits_y = [&](double y) { return usable(ys, y) && fy.contains(transform(ys, y)); };

  // The values the automatic ends must cover: points inside the fixed ends, and annotations.
  std::vector<double> tx, ty;
  for (const Series& s : chart.series()) {
    for (size_t i = 0; i < s.x().size(); ++i) {
      if (fits_x(s.x()[i]) && fits_y(s.y()[i])) {
        tx.push_back(transform(xs, s.x()[i]));
        ty.push_back(transform(ys, s.y()[i]));
      }
    }
  }
  for (const FilledRect& r : chart.rects()) {
    if (fits_x(r.x0()) && fits_x(r.x1()) && fits_y(r.y0()) && fits_y(r.y1())) {
      tx.push_back(transform(xs, r.x0()));
      tx.push_back(transform(xs, r.x1()));
      ty.push_back(transform(ys, r.y0()));
      ty.push_back(transform(ys, r.y1()));
    }
  }
  Plan p;
  ChartLayout& l = p.layout;
  l.has_data = !tx.empty();
  for (const Annotation& a : chart.annotations()) {
    bool use_x = a.kind() != AnnotationKind::kHorizontalLine;
    bool use_y = a.kind() != AnnotationKind::kVerticalLine;
    if ((use_x && !fits_x(a.x())) || (use_y && !fits_y(a.y()))) continue;
    if (use_x) tx.push_back(transform(xs, a.x()));
    if (use_y) ty.push_back(transform(ys, a.y()));
  }
  Resolved rx = resolve(x_axis, "x_axis", tx);
  Resolved ry = resolve(y_axis, "y_axis", ty);

  double width = chart.width(), height = chart.height();
  l.top = chart.title().empty() ? 16.0 : 40.0;
  l.bottom = std::max(height - (x_axis.label().empty() ? 30.0 : 50.0), l.top + 10.0);
  l.y.scale = ys;
  l.y.min = ry.min;
  l.y.max = ry.max;
  l.y.ticks = category_ticks(y_axis, ry).value_or(make_ticks(ys, ry, l.bottom - l.top, 45.0));
  l.left = (y_axis.label().empty() ? 10.0 : 30.0) + widest(l.y.ticks) + 10.0;
  l.right = width - 24.0;
  l.right = std::max(l.right, l.left + 10.0);
  l.x.scale = xs;
  l.x.min = rx.min;
  l.x.max = rx.max;
  l.x.ticks = category_ticks(x_axis, rx).value_or(make_ticks(xs, rx, l.right - l.left, 80.0));
  l.x.pixel_min = l.left;
  l.x.pixel_max = l.right;
  l.y.pixel_min = l.bottom;
  l.y.pixel_max = l.top;
  // The last x tick label is centred on the right edge: make room for its half.
  if (!l.x.ticks.empty()) {
    double half = text_width(l.x.ticks.back().label, kTickFont) / 2;
    double edge = l.x.to_pixel(l.x.ticks.back().value) + half + 4.0;
    if (edge > width) {
      double shift = edge - width;
      l.right = std::max(l.right - shift, l.left + 10.0);
      l.x.pixel_max = l.right;
    }
  }
  if (!l.has_data) {
    l.x = AxisLayout{};
    l.y = AxisLayout{};
    l.left = 10.0;
    l.right = width - 10.0;
    l.x.pixel_min = l.left;
    l.x.pixel_max = l.right;
    l.y.pixel_min = l.bottom;
    l.y.pixel_max = l.top;
  }
  return p;
}

// ---------------------------------------------------------------- SVG writing

class Svg {
 public:
  std::string& out() { return out_; }
  Svg& raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  Svg& text(std::string_view user_text) {
    append_escaped(out_, user_text);
    return *this;
  }
  Svg& attr(std::string_view name, double value) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    out_ += num(value);
    out_ += '"';
    return *this;
  }
  Svg& attr(std::string_view name, std::string_view value) {
    out_ += ' ';
    out_ += name;
    out_ += "=\"";
    append_escaped(out_, value);
    out_ += '"';
    return *this;
  }

 private:
  std::string out_;
};

void line(Svg& svg, double x1, double y1, double x2, double y2) {
  svg.raw("<line").attr("x1", x1).attr("y1", y1).attr("x2", x2).attr("y2", y2).raw("/>\n");
}

// <text> at (x, y); `extra` is more attributes, written as they are (constants only).
void text(Svg& svg, double x, double y, std::string_view anchor, std::string_view content,
          std::string_view extra = "") {
  svg.raw("<text").attr("x", x).attr("y", y);
  if (anchor != "start") svg.attr("text-anchor", anchor);
  svg.raw(extra).raw(">").text(content).raw("</text>\n");
}

// Each series' colour: its own, or the next of the palette.
std::vector<std::string> series_colors(const Chart& chart) {
  std::vector<std::string> colors;
  size_t next = 0;
  for (const Series& s : chart.series()) {
    colors.push_back(s.color().empty() ? kPalette[next++ % kPalette.size()] : s.color());
  }
  return colors;
}

constexpr const char* kDash = "6 4";

void draw_axes(Svg& svg, const Chart& chart, const ChartLayout& l) {
  // Grid lines, then the frame, tick marks and labels.
  svg.raw("<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
  for (const Tick& t : l.x.ticks) {
    double px = l.x.to_pixel(t.value);
    line(svg, px, l.top, px, l.bottom);
  }
  for (const Tick& t : l.y.ticks) {
    double py = l.y.to_pixel(t.value);
    line(svg, l.left, py, l.right, py);
  }
  svg.raw("</g>\n");
  svg.raw("<rect class=\"frame\"")
      .attr("x", l.left)
      .attr("y", l.top)
      .attr("width", l.right - l.left)
      .attr("height", l.bottom - l.top)
      .raw(" fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>\n");
  svg.raw("<g class=\"ticks\" stroke=\"#888\" stroke-width=\"1\">\n");
  for (const Tick& t : l.x.ticks) {
    double px = l.x.to_pixel(t.value);
    line(svg, px, l.bottom, px, l.bottom + 5);
  }
  for (const Tick& t : l.y.ticks) {
    double py = l.y.to_pixel(t.value);
    line(svg, l.left - 5, py, l.left, py);
  }
  svg.raw("</g>\n");
  svg.raw("<g class=\"x-tick-labels\" font-size=\"11\" fill=\"#444\">\n");
  for (const Tick& t : l.x.ticks)
    text(svg, l.x.to_pixel(t.value), l.bottom + 18, "middle", t.label);
  svg.raw("</g>\n");
  svg.raw("<g class=\"y-tick-labels\" font-size=\"11\" fill=\"#444\">\n");
  for (const Tick& t : l.y.ticks) text(svg, l.left - 8, l.y.to_pixel(t.value) + 4, "end", t.label);
  svg.raw("</g>\n");
  if (!chart.x_axis().label().empty()) {
    text(svg, (l.left + l.right) / 2, l.bottom + 40, "middle", chart.x_axis().label(),
         " class=\"x-label\" font-size=\"12\" fill=\"#222\"");
  }
  if (!chart.y_axis().label().empty()) {
    double cx = 16, cy = (l.top + l.bottom) / 2;
    std::string rotate = " transform=\"rotate(-90 " + num(cx) + " " + num(cy) + ")\"";
    text(svg, cx, cy, "middle", chart.y_axis().label(),
         " class=\"y-label\" font-size=\"12\" fill=\"#222\"" + rotate);
  }
}

void draw_rects(Svg& svg, const Chart& chart, const Plan& p) {
  if (chart.rects().empty()) return;
  const ChartLayout& l = p.layout;
  svg.raw("<g class=\"rects\" stroke=\"none\">\n");
  for (const FilledRect& r : chart.rects()) {
    if (!p.drawable(r.x0(), r.y0()) || !p.drawable(r.x1(), r.y1())) continue;
    double px0 = l.x.to_pixel(r.x0()), px1 = l.x.to_pixel(r.x1());
    double py0 = l.y.to_pixel(r.y0()), py1 = l.y.to_pixel(r.y1());
    svg.raw("<rect")
        .attr("x", std::min(px0, px1))
        .attr("y", std::min(py0, py1))
        .attr("width", std::abs(px1 - px0))
        .attr("height", std::abs(py1 - py0))
        .attr("fill", r.color());
    if (r.label().empty()) {
      svg.raw("/>\n");
    } else {
      svg.raw("><title>").text(r.label()).raw("</title></rect>\n");
    }
  }
  svg.raw("</g>\n");
}

// The runs of consecutive drawable points of a series, in pixels.
std::vector<std::vector<std::pair<double, double>>> runs(const Plan& p, const Series& s) {
  std::vector<std::vector<std::pair<double, double>>> out;
  bool open = false;
  for (size_t i = 0; i < s.x().size(); ++i) {
    double x = s.x()[i], y = s.y()[i];
    if (!p.drawable(x, y)) {
      open = false;
      continue;
    }
    if (!open) out.emplace_back();
    open = true;
    out.back().emplace_back(p.layout.x.to_pixel(x), p.layout.y.to_pixel(y));
  }
  return out;
}

void draw_series(Svg& svg, const Chart& chart, const Plan& p, size_t index,
                 const std::vector<std::string>& colors) {
  const Series& s = chart.series()[index];
  const std::string& color = colors[index];
  auto pieces = runs(p, s);
  bool points = s.style() == SeriesStyle::kPoints;
  svg.raw("<g class=\"series\"");
  svg.attr("data-index", static_cast<double>(index));
  if (points) {
    svg.attr("fill", color).raw(" stroke=\"none\"");
  } else {
    svg.raw(" fill=\"none\"").attr("stroke", color).attr("stroke-width", s.line_width());
    svg.raw(" stroke-linejoin=\"round\" stroke-linecap=\"round\"");
    if (s.dashed()) svg.attr("stroke-dasharray", kDash);
  }
  svg.raw(">");
  if (!s.name().empty()) svg.raw("<title>").text(s.name()).raw("</title>");
  svg.raw("\n");
  for (const auto& run : pieces) {
    if (points || run.size() == 1) {
      for (const auto& [px, py] : run) {
        svg.raw("<circle").attr("cx", px).attr("cy", py).attr("r", s.point_radius());
        if (!points) svg.attr("fill", color).raw(" stroke=\"none\"");
        svg.raw("/>\n");
      }
      continue;
    }
    svg.raw("<polyline points=\"");
    for (size_t i = 0; i < run.size(); ++i) {
      if (i > 0) {
        svg.raw(" ");
        if (s.style() == SeriesStyle::kStep) {  // along at the previous height, then up or down
          svg.raw(num(run[i].first)).raw(",").raw(num(run[i - 1].second)).raw(" ");
        }
      }
      svg.raw(num(run[i].first)).raw(",").raw(num(run[i].second));
    }
    svg.raw("\"/>\n");
  }
  svg.raw("</g>\n");
}

struct LegendEntry {
  size_t series;
  std::string name;
};

// The legend's box for a position (inside the plot area), and the chosen position.
Box legend_box(const ChartLayout& l, LegendPosition pos, double w, double h) {
  bool right = pos == LegendPosition::kTopRight || pos == LegendPosition::kBottomRight;
  bool top = pos == LegendPosition::kTopRight || pos == LegendPosition::kTopLeft;
  double x0 = right ? l.right - kInset - w : l.left + kInset;
  double y0 = top ? l.top + kInset : l.bottom - kInset - h;
  return {x0, y0, x0 + w, y0 + h};
}

// Where the series put ink: every dot and vertex, and 7 points along each line segment.
std::vector<std::pair<double, double>> ink(const Chart& chart, const Plan& p) {
  std::vector<std::pair<double, double>> out;
  for (const Series& s : chart.series()) {
    for (const auto& run : runs(p, s)) {
      for (size_t i = 0; i < run.size(); ++i) {
        out.push_back(run[i]);
        if (i == 0 || s.style() == SeriesStyle::kPoints) continue;
        auto from = run[i - 1];
        if (s.style() == SeriesStyle::kStep) {  // across to the corner, then up or down
          std::pair<double, double> corner{run[i].first, run[i - 1].second};
          for (int k = 1; k <= 7; ++k) {
            double f = k / 8.0;
            out.emplace_back(from.first + f * (corner.first - from.first), from.second);
          }
          out.push_back(corner);
          from = corner;
        }
        for (int k = 1; k <= 7; ++k) {
          double f = k / 8.0;
          out.emplace_back(from.first + f * (run[i].first - from.first),
                           from.second + f * (run[i].second - from.second));
        }
      }
    }
  }
  return out;
}

// How much ink a box would hide.
size_t covered(const std::vector<std::pair<double, double>>& ink, const Box& box) {
  size_t n = 0;
  for (const auto& [x, y] : ink) n += box.contains(x, y);
  return n;
}

std::optional<Box> draw_legend(Svg& svg, const Chart& chart, const Plan& p,
                               const std::vector<std::pair<double, double>>& inked,
                               const std::vector<std::string>& colors) {
  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < chart.series().size(); ++i) {
    if (!chart.series()[i].name().empty()) entries.push_back({i, chart.series()[i].name()});
  }
  if (entries.empty() || chart.legend() == LegendPosition::kNone) return std::nullopt;
  double text_w = 0.0;
  for (const auto& e : entries) text_w = std::max(text_w, text_width(e.name, kTickFont));
  double w = kLegendPad + kLegendSwatch + 6.0 + text_w + kLegendPad + 2.0;
  double h = 2 * kLegendPad + kLegendRow * static_cast<double>(entries.size());
  const ChartLayout& l = p.layout;
  LegendPosition pos = chart.legend();
  if (pos == LegendPosition::kAuto) {
    size_t best = std::numeric_limits<size_t>::max();
    for (LegendPosition c : {LegendPosition::kTopRight, LegendPosition::kTopLeft,
                             LegendPosition::kBottomRight, LegendPosition::kBottomLeft}) {
      size_t n = covered(inked, legend_box(l, c, w, h));
      if (n < best) {
        best = n;
        pos = c;
      }
    }
  }
  Box box = legend_box(l, pos, w, h);
  svg.raw("<g class=\"legend\" font-size=\"11\">\n");
  svg.raw("<rect")
      .attr("x", box.x0)
      .attr("y", box.y0)
      .attr("width", w)
      .attr("height", h)
      .raw(" rx=\"3\" fill=\"#fff\" fill-opacity=\"0.9\" stroke=\"#ccc\"/>\n");
  for (size_t i = 0; i < entries.size(); ++i) {
    const Series& s = chart.series()[entries[i].series];
    const std::string& color = colors[entries[i].series];
    double cy = box.y0 + kLegendPad + kLegendRow * (static_cast<double>(i) + 0.5);
    double sx = box.x0 + kLegendPad;
    if (s.style() == SeriesStyle::kPoints) {
      svg.raw("<circle")
          .attr("cx", sx + kLegendSwatch / 2)
          .attr("cy", cy)
          .attr("r", std::min(s.point_radius(), 5.0))
          .attr("fill", color)
          .raw("/>\n");
    } else {
      svg.raw("<line")
          .attr("x1", sx)
          .attr("y1", cy)
          .attr("x2", sx + kLegendSwatch)
          .attr("y2", cy)
          .attr("stroke", color)
          .attr("stroke-width", std::min(s.line_width(), 4.0));
      if (s.dashed()) svg.attr("stroke-dasharray", kDash);
      svg.raw("/>\n");
    }
    text(svg, sx + kLegendSwatch + 6.0, cy + 4, "start", entries[i].name, " fill=\"#222\"");
  }
  svg.raw("</g>\n");
  return box;
}

// The box of a text label whose baseline starts (or ends, or is centred) at (x, y).
Box label_box(double x, double y, std::string_view anchor, std::string_view label) {
  double w = text_width(label, kTickFont);
  double x0 = anchor == "start" ? x : anchor == "end" ? x - w : x - w / 2;
  return {x0, y - 10.0, x0 + w, y + 3.0};
}

struct Placement {
  double x, y;
  const char* anchor;
  int level;  // how far from the marker: each level costs as much as hiding kLevelCost of ink
};
constexpr size_t kLevelCost = 10;

void draw_annotations(Svg& svg, const Chart& chart, const Plan& p,
                      std::vector<std::pair<double, double>> inked, std::vector<Box> taken) {
  const ChartLayout& l = p.layout;
  auto ink_line = [&](double x0, double y0, double x1, double y1) {
    double length = std::hypot(x1 - x0, y1 - y0);
    int n = static_cast<int>(length / 2.0);
    for (int k = 0; k <= n; ++k) {
      double f = n == 0 ? 0.0 : static_cast<double>(k) / n;
      inked.emplace_back(x0 + f * (x1 - x0), y0 + f * (y1 - y0));
    }
  };
  Box plot{l.left, l.top, l.right, l.bottom};
  // Markers first, labels after, so that no marker line crosses a label.
  struct Label {
    std::vector<Placement> candidates;
    std::string text;
    std::string color;
    std::optional<std::pair<double, double>> dot;  // of a point annotation
  };
  std::vector<Label> labels;
  svg.raw("<g class=\"annotations\">\n");
  for (const Annotation& a : chart.annotations()) {
    std::vector<Placement> candidates;
    std::optional<std::pair<double, double>> dot;
    switch (a.kind()) {
      case AnnotationKind::kVerticalLine: {
        if (!p.drawable(a.x(), l.y.min)) continue;
        double px = l.x.to_pixel(a.x());
        svg.raw("<line").attr("x1", px).attr("y1", l.top).attr("x2", px).attr("y2", l.bottom);
        svg.attr("stroke", a.color()).raw(" stroke-width=\"1.25\" stroke-dasharray=\"5 4\"/>\n");
        ink_line(px, l.top, px, l.bottom);
        for (int level = 0; level < 8; ++level) {
          double y = l.top + 14.0 + 15.0 * level;
          candidates.push_back({px + 5.0, y, "start", level});
          candidates.push_back({px - 5.0, y, "end", level});
        }
        break;
      }
      case AnnotationKind::kHorizontalLine: {
        if (!p.drawable(l.x.min, a.y())) continue;
        double py = l.y.to_pixel(a.y());
        svg.raw("<line").attr("x1", l.left).attr("y1", py).attr("x2", l.right).attr("y2", py);
        svg.attr("stroke", a.color()).raw(" stroke-width=\"1.25\" stroke-dasharray=\"5 4\"/>\n");
        ink_line(l.left, py, l.right, py);
        for (int level = 0; level < 4; ++level) {
          double x = l.right - 5.0 - 120.0 * level;
          candidates.push_back({x, py - 5.0, "end", level});
          candidates.push_back({x, py + 14.0, "end", level});
        }
        break;
      }
      case AnnotationKind::kPoint: {
        if (!p.drawable(a.x(), a.y())) continue;
        double px = l.x.to_pixel(a.x()), py = l.y.to_pixel(a.y());
        svg.raw("<circle").attr("cx", px).attr("cy", py).raw(" r=\"5\"").attr("fill", a.color());
        svg.raw(" stroke=\"#fff\" stroke-width=\"1.5\"/>\n");
        taken.push_back({px - 6.0, py - 6.0, px + 6.0, py + 6.0});  // no label over a dot
        dot = {px, py};
        for (int level = 0; level < 6; ++level) {
          double up = py - 9.0 - 15.0 * level, down = py + 18.0 + 15.0 * level;
          candidates.push_back({px + 8.0, up, "start", level});
          candidates.push_back({px - 8.0, up, "end", level});
          candidates.push_back({px + 8.0, down, "start", level});
          candidates.push_back({px - 8.0, down, "end", level});
        }
        break;
      }
    }
    if (!a.label().empty()) labels.push_back({std::move(candidates), a.label(), a.color(), dot});
  }
  for (const Label& label : labels) {
    // Of the places inside the plot that overlap no other label, dot or legend, the one that
    // is closest to its marker and hides the least ink; ties go to the earlier candidate.
    const Placement* chosen = &label.candidates.front();
    size_t least = std::numeric_limits<size_t>::max();
    for (const Placement& c : label.candidates) {
      Box b = label_box(c.x, c.y, c.anchor, label.text);
      if (!b.inside(plot) ||
          std::any_of(taken.begin(), taken.end(), [&](const Box& t) { return t.overlaps(b); })) {
        continue;
      }
      size_t cost = covered(inked, b) + kLevelCost * static_cast<size_t>(c.level);
      if (cost < least) {
        least = cost;
        chosen = &c;
      }
    }
    Box box = label_box(chosen->x, chosen->y, chosen->anchor, label.text);
    taken.push_back(box);
    if (label.dot && chosen->level > 0) {  // a label moved away from its dot: a leader line
      auto [px, py] = *label.dot;
      double tx = std::clamp(px, box.x0, box.x1), ty = std::clamp(py, box.y0, box.y1);
      double d = std::hypot(tx - px, ty - py);
      if (d > 10.0) {
        double ux = (tx - px) / d, uy = (ty - py) / d;
        svg.raw("<line")
            .attr("x1", px + 6.0 * ux)
            .attr("y1", py + 6.0 * uy)
            .attr("x2", tx - 2.0 * ux)
            .attr("y2", ty - 2.0 * uy)
            .attr("stroke", label.color)
            .raw(" stroke-width=\"0.75\"/>\n");
      }
    }
    std::string style = " class=\"annotation-label\" font-size=\"11\" fill=\"" +
                        escaped(label.color) +
                        "\" stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" "
                        "paint-order=\"stroke\"";
    text(svg, chosen->x, chosen->y, chosen->anchor, label.text, style);
  }
  svg.raw("</g>\n");
}

}  // namespace

// ---------------------------------------------------------------- public

Annotation Annotation::vertical_line(double x, std::string label) {
  return Annotation().kind(AnnotationKind::kVerticalLine).x(x).label(std::move(label));
}

Annotation Annotation::horizontal_line(double y, std::string label) {
  return Annotation().kind(AnnotationKind::kHorizontalLine).y(y).label(std::move(label));
}

Annotation Annotation::point(double x, double y, std::string label) {
  return Annotation().kind(AnnotationKind::kPoint).x(x).y(y).label(std::move(label));
}

double AxisLayout::to_pixel(double value) const {
  double t0 = transform(scale, min), t1 = transform(scale, max);
  return pixel_min + (transform(scale, value) - t0) / (t1 - t0) * (pixel_max - pixel_min);
}

ChartLayout layout_chart(const Chart& chart) { return plan(chart).layout; }

std::vector<Tick> axis_ticks(AxisScale scale, double min, double max, double length_px,
                             double spacing_px) {
  Resolved r{transform(scale, min), transform(scale, max), min, max};
  if (!(std::isfinite(r.t_lo) && std::isfinite(r.t_hi) && r.t_hi > r.t_lo)) return {};
  return make_ticks(scale, r, length_px, std::max(spacing_px, 1.0));
}

std::string xml_escape(std::string_view text) { return escaped(text); }

std::string to_svg_grid(const std::vector<Chart>& charts, int columns, const std::string& title) {
  KNOB_CHECK(!charts.empty(), "charts", 0, "must hold at least one chart");
  KNOB_CHECK(columns >= 1, "columns", columns, "must be >= 1");
  // Rows as tall as their tallest chart, columns as wide as their widest.
  size_t n_columns = std::min(charts.size(), static_cast<size_t>(columns));
  size_t n_rows = (charts.size() + n_columns - 1) / n_columns;
  std::vector<double> column_w(n_columns, 0.0), row_h(n_rows, 0.0);
  for (size_t i = 0; i < charts.size(); ++i) {
    column_w[i % n_columns] = std::max(column_w[i % n_columns], double(charts[i].width()));
    row_h[i / n_columns] = std::max(row_h[i / n_columns], double(charts[i].height()));
  }
  double top = title.empty() ? 0.0 : 36.0;
  double width = 0.0, height = top;
  for (double w : column_w) width += w;
  for (double h : row_h) height += h;
  Svg svg;
  svg.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  svg.raw("<svg xmlns=\"http://www.w3.org/2000/svg\"").attr("width", width).attr("height", height);
  svg.raw(" viewBox=\"0 0 ").raw(num(width)).raw(" ").raw(num(height));
  svg.raw("\" font-family=\"sans-serif\">\n");
  if (!title.empty()) svg.raw("<title>").text(title).raw("</title>\n");
  svg.raw("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
  if (!title.empty()) {
    text(svg, width / 2, 24, "middle", title,
         " class=\"grid-title\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\"");
  }
  double y = top;
  for (size_t row = 0; row < n_rows; ++row) {
    double x = 0.0;
    for (size_t column = 0; column < n_columns; ++column) {
      size_t i = row * n_columns + column;
      if (i >= charts.size()) break;
      std::string one = to_svg(charts[i]);
      one.erase(0, one.find("<svg"));  // drop the XML declaration
      svg.raw("<g class=\"cell\"").attr("data-index", double(i)).raw(">\n");
      svg.raw(one.substr(0, 4)).attr("x", x).attr("y", y).raw(one.substr(4));
      svg.raw("</g>\n");
      x += column_w[column];
    }
    y += row_h[row];
  }
  svg.raw("</svg>\n");
  return std::move(svg.out());
}

std::string short_number(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return "0";
  digits = std::clamp(digits, 1, 17);
  char buf[64];
  auto end =
      std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, digits - 1).ptr;
  std::string sci(buf, static_cast<size_t>(end - buf));
  size_t e_pos = sci.find('e');
  int exponent = std::stoi(sci.substr(e_pos + 1));
  if (exponent >= -2 && exponent <= 3) {
    std::string fixed = fixed_decimals(value, std::max(0, digits - 1 - exponent));
    if (fixed.find('.') != std::string::npos) {
      while (fixed.back() == '0') fixed.pop_back();
      if (fixed.back() == '.') fixed.pop_back();
    }
    return fixed;
  }
  std::string mantissa = sci.substr(0, e_pos);
  if (mantissa.find('.') != std::string::npos) {
    while (mantissa.back() == '0') mantissa.pop_back();
    if (mantissa.back() == '.') mantissa.pop_back();
  }
  return mantissa + "e" + std::to_string(exponent);
}

std::string to_svg(const Chart& chart) {
  Plan p = plan(chart);
  const ChartLayout& l = p.layout;
  Svg svg;
  svg.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  svg.raw("<svg xmlns=\"http://www.w3.org/2000/svg\"")
      .attr("width", chart.width())
      .attr("height", chart.height());
  svg.raw(" viewBox=\"0 0 ")
      .raw(num(chart.width()))
      .raw(" ")
      .raw(num(chart.height()))
      .raw("\" font-family=\"sans-serif\">\n");
  if (!chart.title().empty()) svg.raw("<title>").text(chart.title()).raw("</title>\n");
  svg.raw("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
  if (!chart.title().empty()) {
    text(svg, (l.left + l.right) / 2, 26, "middle", chart.title(),
         " class=\"chart-title\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\"");
  }
  if (!l.has_data) {
    svg.raw("<rect class=\"frame\"")
        .attr("x", l.left)
        .attr("y", l.top)
        .attr("width", l.right - l.left)
        .attr("height", l.bottom - l.top)
        .raw(" fill=\"none\" stroke=\"#ccc\"/>\n");
    text(svg, (l.left + l.right) / 2, (l.top + l.bottom) / 2 + 5, "middle", "no data",
         " class=\"no-data\" font-size=\"14\" fill=\"#888\"");
    svg.raw("</svg>\n");
    return std::move(svg.out());
  }
  draw_axes(svg, chart, l);
  draw_rects(svg, chart, p);
  std::vector<std::string> colors = series_colors(chart);
  for (size_t i = 0; i < chart.series().size(); ++i) draw_series(svg, chart, p, i, colors);
  // The legend is placed before the annotation labels so they can keep out of its way, but
  // drawn on top of everything: draw it into a side buffer and append it last.
  std::vector<std::pair<double, double>> inked = ink(chart, p);
  Svg legend;
  std::optional<Box> legend_area = draw_legend(legend, chart, p, inked, colors);
  std::vector<Box> taken;
  if (legend_area) taken.push_back(*legend_area);
  draw_annotations(svg, chart, p, std::move(inked), std::move(taken));
  svg.raw(legend.out());
  svg.raw("</svg>\n");
  return std::move(svg.out());
}

}  // namespace knob
