#include "knob/report/study_plots.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "knob/core/error.h"
#include "knob/report/chart.h"
#include "knob/report/png.h"
#include "knob/report/study_tables.h"
#include "knob/tuner/constraints.h"
#include "knob/tuner/importance/importance.h"

namespace knob {
namespace {

// ---------------------------------------------------------------- what a plot draws

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::string joined_numbers(const std::vector<int>& numbers) {
  std::vector<std::string> names;
  for (int n : numbers) names.push_back(std::to_string(n));
  return joined(names);
}

// The objective a plot shows: Optuna needs a target for a multi-objective study.
size_t objective_of(const StudyTrials& study, const StudyPlotOptions& options) {
  int n = static_cast<int>(study.directions.size());
  std::string range = n == 1 ? "0" : "0 to " + std::to_string(n - 1);
  if (n > 1) {
    KNOB_CHECK(options.objective_index().has_value(), "objective_index", "unset",
               "required: study '" + study.name + "' has " + std::to_string(n) +
                   " objectives (choose " + range + ")");
  }
  int index = options.objective_index().value_or(0);
  KNOB_CHECK(index >= 0 && index < n, "objective_index", index,
             "must be " + range + ": study '" + study.name + "' has " + std::to_string(n) +
                 (n == 1 ? " objective" : " objectives"));
  return static_cast<size_t>(index);
}

// The trials drawn: COMPLETE, with a finite value of the objective, by number.
struct Drawn {
  size_t objective = 0;
  StudyDirection direction = StudyDirection::kMinimize;
  bool multi = false;
  std::vector<const FrozenTrial*> trials;
  double value(const FrozenTrial& t) const { return t.values[objective]; }
};

Drawn drawn_trials(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn d;
  d.objective = objective_of(study, options);
  d.direction = study.directions[d.objective];
  d.multi = study.directions.size() > 1;
  for (const FrozenTrial& t : study.trials) {
    if (t.state == TrialState::kComplete && t.values.size() > d.objective &&
        std::isfinite(t.values[d.objective])) {
      d.trials.push_back(&t);
    }
  }
  std::sort(d.trials.begin(), d.trials.end(),
            [](const FrozenTrial* a, const FrozenTrial* b) { return a->number < b->number; });
  KNOB_CHECK(!d.trials.empty(), "study", study.name,
             "has no COMPLETE trial with a finite value" +
                 std::string(d.multi ? " of objective " + std::to_string(d.objective) : "") +
                 ": nothing to plot");
  return d;
}

// A parameter's axis: its distribution (of the latest trial drawn that has it), log or
// categorical. A trial's position on it is its internal value (a choice's index).
struct ParamAxis {
  std::string name;
  bool log = false;
  std::vector<std::string> categories;  // non-empty: categorical
  double position(const FrozenTrial& t) const { return t.internal_params.at(name); }
  bool has(const FrozenTrial& t) const { return t.internal_params.count(name) > 0; }
};

ParamAxis param_axis(const std::string& name, const Distribution& distribution) {
  ParamAxis axis;
  axis.name = name;
  if (const auto* f = std::get_if<FloatDistribution>(&distribution)) axis.log = f->log;
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) axis.log = i->log;
  if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) {
    for (const ParamValue& choice : c->choices) axis.categories.push_back(to_string(choice));
  }
  return axis;
}

// The parameters asked for (or all of the drawn trials'), sorted; at least `at_least`.
std::vector<ParamAxis> param_axes(const StudyTrials& study, const Drawn& drawn,
                                  const StudyPlotOptions& options, size_t at_least,
                                  const std::string& kind) {
  std::map<std::string, Distribution> latest;
  for (const FrozenTrial* t : drawn.trials) {
    for (const auto& [name, distribution] : t->distributions) {
      latest.insert_or_assign(name, distribution);
    }
  }
  std::vector<std::string> known;
  for (const auto& entry : latest) known.push_back(entry.first);
  std::set<std::string> chosen;
  for (const std::string& name : options.params()) {
    KNOB_CHECK(latest.count(name) > 0, "params", name,
               "no such parameter in the COMPLETE trials of study '" + study.name +
                   "' (it has: " + joined(known) + ")");
    KNOB_CHECK(chosen.insert(name).second, "params", name, "is given twice");
  }
  if (options.params().empty()) chosen.insert(known.begin(), known.end());
  std::vector<std::string> names(chosen.begin(), chosen.end());
  KNOB_CHECK(names.size() >= at_least, "params", joined(names),
             "the " + kind + " plot needs at least " + std::to_string(at_least) +
                 (at_least == 1 ? " parameter" : " parameters") + " (study '" + study.name +
                 "' has: " + joined(known) + ")");
  std::vector<ParamAxis> axes;
  for (const auto& name : names) axes.push_back(param_axis(name, latest.at(name)));
  return axes;
}

Axis chart_axis(const ParamAxis& p) {
  Axis axis = Axis().label(p.name).categories(p.categories);
  if (p.log) axis.scale(AxisScale::kLog10);
  return axis;
}

// ---------------------------------------------------------------- colours

// ColorBrewer's sequential "Blues" (Optuna's colour scale), light to dark.
constexpr std::array<std::array<double, 3>, 9> kBlues = {{{247, 251, 255},
                                                          {222, 235, 247},
                                                          {198, 219, 239},
                                                          {158, 202, 225},
                                                          {107, 174, 214},
                                                          {66, 146, 198},
                                                          {33, 113, 181},
                                                          {8, 81, 156},
                                                          {8, 48, 107}}};

// The colour of f in [0, 1]: 0 lightest, 1 darkest, linear between the scale's stops.
std::string blues(double f) {
  f = std::clamp(std::isfinite(f) ? f : 0.0, 0.0, 1.0) * (kBlues.size() - 1);
  size_t i = std::min(static_cast<size_t>(f), kBlues.size() - 2);
  double w = f - static_cast<double>(i);
  char buf[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<int>(std::lround(kBlues[i][c] * (1 - w) + kBlues[i + 1][c] * w));
  }
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

// Darker is better: the value's place between the worst and the best value.
struct ValueColors {
  double lo = 0.0, hi = 1.0;
  bool maximize = false;
  std::string operator()(double v) const {
    double f = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return blues(maximize ? f : 1.0 - f);
  }
  std::string legend(const std::string& target) const {
    return target + ": darker is better (" + short_number(maximize ? lo : hi, 3) + " to " +
           short_number(maximize ? hi : lo, 3) + ")";
  }
};

ValueColors value_colors(const Drawn& drawn) {
  ValueColors c;
  c.maximize = drawn.direction == StudyDirection::kMaximize;
  c.lo = c.hi = drawn.value(*drawn.trials.front());
  for (const FrozenTrial* t : drawn.trials) {
    c.lo = std::min(c.lo, drawn.value(*t));
    c.hi = std::max(c.hi, drawn.value(*t));
  }
  return c;
}

// A [lo, hi] in axis units (log10 on a log axis, indices on a categorical one) covering a
// parameter's positions with 5% padding, as Optuna pads its contour axes.
std::pair<double, double> axis_span(const ParamAxis& p, const std::vector<double>& positions) {
  if (!p.categories.empty()) return {-0.5, static_cast<double>(p.categories.size()) - 0.5};
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (double v : positions) {
    double t = p.log ? std::log10(v) : v;
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  if (!(hi > lo)) {
    double half = p.log ? 0.5 : (lo == 0.0 ? 0.5 : 0.1 * std::abs(lo));
    return {lo - half, hi + half};
  }
  double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

double from_axis_units(const ParamAxis& p, double t) { return p.log ? std::pow(10.0, t) : t; }

// ---------------------------------------------------------------- the parallel chart

// A pixel coordinate with at most 2 decimals (as chart.h writes them).
std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", std::round(v * 100.0) / 100.0 + 0.0);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

struct ParallelAxis {
  std::string label;
  bool log = false;
  std::vector<std::string> categories;
  double lo = 0.0, hi = 1.0;  // axis units
  double to_unit(double v) const { return log ? std::log10(v) : v; }
};

std::string parallel_svg(const std::vector<ParallelAxis>& axes,
                         const std::vector<std::vector<double>>& rows,
                         const std::vector<std::string>& colors,
                         const std::vector<std::string>& tips, const std::string& subtitle) {
  const double top = 70.0, bottom = 60.0, side = 70.0;
  double width = std::max(640.0, 150.0 * static_cast<double>(axes.size()) + 2 * side - 150.0);
  double height = 440.0;
  double plot_top = top, plot_bottom = height - bottom;
  auto x_at = [&](size_t i) {
    return axes.size() == 1 ? width / 2
                            : side + (width - 2 * side) * static_cast<double>(i) /
                                         static_cast<double>(axes.size() - 1);
  };
  auto y_at = [&](const ParallelAxis& a, double v) {
    return plot_bottom - (a.to_unit(v) - a.lo) / (a.hi - a.lo) * (plot_bottom - plot_top);
  };
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(width) + "\" height=\"" +
         px(height) + "\" viewBox=\"0 0 " + px(width) + " " + px(height) +
         "\" font-family=\"sans-serif\">\n";
  svg += "<title>Parallel Coordinate Plot</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  svg += "<text x=\"" + px(width / 2) +
         "\" y=\"26\" text-anchor=\"middle\" class=\"chart-title\" font-size=\"15\" "
         "font-weight=\"bold\" fill=\"#222\">Parallel Coordinate Plot</text>\n";
  svg += "<text x=\"" + px(width / 2) +
         "\" y=\"46\" text-anchor=\"middle\" class=\"subtitle\" font-size=\"11\" fill=\"#444\">" +
         xml_escape(subtitle) + "</text>\n";
  svg += "<g class=\"trials\" fill=\"none\" stroke-width=\"1.25\" stroke-opacity=\"0.8\">\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    svg += "<polyline class=\"trial\" stroke=\"" + colors[r] + "\" points=\"";
    for (size_t i = 0; i < axes.size(); ++i) {
      svg += (i ? " " : "") + px(x_at(i)) + "," + px(y_at(axes[i], rows[r][i]));
    }
    svg += "\"><title>" + xml_escape(tips[r]) + "</title></polyline>\n";
  }
  svg += "</g>\n";
  for (size_t i = 0; i < axes.size(); ++i) {
    const ParallelAxis& a = axes[i];
    double x = x_at(i);
    svg += "<g class=\"axis\" font-size=\"10\" fill=\"#444\">\n";
    svg += "<line x1=\"" + px(x) + "\" y1=\"" + px(plot_top) + "\" x2=\"" + px(x) + "\" y2=\"" +
           px(plot_bottom) + "\" stroke=\"#555\" stroke-width=\"1.5\"/>\n";
    std::vector<Tick> ticks;
    if (!a.categories.empty()) {
      for (size_t k = 0; k < a.categories.size(); ++k) {
        ticks.push_back({static_cast<double>(k), a.categories[k]});
      }
    } else {
      ticks = axis_ticks(a.log ? AxisScale::kLog10 : AxisScale::kLinear,
                         a.log ? std::pow(10.0, a.lo) : a.lo, a.log ? std::pow(10.0, a.hi) : a.hi,
                         plot_bottom - plot_top);
    }
    for (const Tick& t : ticks) {
      double y = y_at(a, t.value);
      svg += "<line x1=\"" + px(x - 4) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x) + "\" y2=\"" +
             px(y) + "\" stroke=\"#555\"/>\n";
      svg += "<text class=\"tick\" x=\"" + px(x - 6) + "\" y=\"" + px(y + 3.5) +
             "\" text-anchor=\"end\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">" +
             xml_escape(t.label) + "</text>\n";
    }
    svg += "<text class=\"axis-label\" x=\"" + px(x) + "\" y=\"" + px(plot_bottom + 22) +
           "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222\">" + xml_escape(a.label) +
           "</text>\n</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

// ---------------------------------------------------------------- contour cells

constexpr int kGrid = 32;

// The objective at cell centres, by inverse distance weighting (power 2) of the trials in
// normalized axis units; a trial on a centre gives its value there.
Chart contour_chart(const ParamAxis& px_axis, const ParamAxis& py_axis, const Drawn& drawn,
                    const ValueColors& colors, const std::string& target, int width, int height) {
  std::vector<double> xs, ys, vs;
  std::vector<int64_t> numbers;
  for (const FrozenTrial* t : drawn.trials) {
    if (!px_axis.has(*t) || !py_axis.has(*t)) continue;
    xs.push_back(px_axis.position(*t));
    ys.push_back(py_axis.position(*t));
    vs.push_back(drawn.value(*t));
    numbers.push_back(t->number);
  }
  Chart chart;
  chart.width(width).height(height).legend(LegendPosition::kNone);
  auto [x_lo, x_hi] = axis_span(px_axis, xs);
  auto [y_lo, y_hi] = axis_span(py_axis, ys);
  chart.x_axis(
      chart_axis(px_axis).range(from_axis_units(px_axis, x_lo), from_axis_units(px_axis, x_hi)));
  chart.y_axis(
      chart_axis(py_axis).range(from_axis_units(py_axis, y_lo), from_axis_units(py_axis, y_hi)));
  if (xs.empty()) return chart;  // no trial has both: "no data"
  auto unit = [](double t, double lo, double hi) { return (t - lo) / (hi - lo); };
  std::vector<double> ux, uy;
  for (size_t k = 0; k < xs.size(); ++k) {
    ux.push_back(unit(px_axis.log ? std::log10(xs[k]) : xs[k], x_lo, x_hi));
    uy.push_back(unit(py_axis.log ? std::log10(ys[k]) : ys[k], y_lo, y_hi));
  }
  double dx = (x_hi - x_lo) / kGrid, dy = (y_hi - y_lo) / kGrid;
  for (int j = 0; j < kGrid; ++j) {
    for (int i = 0; i < kGrid; ++i) {
      double cx = (i + 0.5) / kGrid, cy = (j + 0.5) / kGrid;
      double sum = 0.0, weights = 0.0;
      std::optional<double> exact;
      for (size_t k = 0; k < ux.size() && !exact; ++k) {
        double d2 = (ux[k] - cx) * (ux[k] - cx) + (uy[k] - cy) * (uy[k] - cy);
        if (d2 < 1e-18) exact = vs[k];
        sum += vs[k] / d2;
        weights += 1.0 / d2;
      }
      double z = exact ? *exact : sum / weights;
      chart.fill(FilledRect()
                     .x0(from_axis_units(px_axis, x_lo + i * dx))
                     .x1(from_axis_units(px_axis, x_lo + (i + 1) * dx))
                     .y0(from_axis_units(py_axis, y_lo + j * dy))
                     .y1(from_axis_units(py_axis, y_lo + (j + 1) * dy))
                     .color(colors(z)));
    }
  }
  chart.add(
      Series(target, xs, ys).style(SeriesStyle::kPoints).color("#000").point_radius(2.5).name(""));
  return chart;
}

std::string png_or_svg_tmp(const std::string& path) {
  return path + ".knob-" + std::to_string(::getpid()) + ".tmp";
}

// The root element's width attribute of an SVG these functions wrote.
int svg_width(const std::string& svg) {
  size_t root = svg.find("<svg");
  size_t at = root == std::string::npos ? root : svg.find(" width=\"", root);
  KNOB_CHECK(at != std::string::npos, "svg", svg.substr(0, 40), "has no width");
  return static_cast<int>(std::lround(std::stod(svg.substr(at + 8))));
}

}  // namespace

// ---------------------------------------------------------------- public

std::vector<PlotKind> all_plot_kinds() {
  return {PlotKind::kHistory,    PlotKind::kIntermediate, PlotKind::kParallel, PlotKind::kSlice,
          PlotKind::kImportance, PlotKind::kContour,      PlotKind::kEdf,      PlotKind::kPareto};
}

std::string plot_kind_name(PlotKind kind) {
  switch (kind) {
    case PlotKind::kHistory:
      return "history";
    case PlotKind::kIntermediate:
      return "intermediate";
    case PlotKind::kParallel:
      return "parallel";
    case PlotKind::kSlice:
      return "slice";
    case PlotKind::kImportance:
      return "importance";
    case PlotKind::kContour:
      return "contour";
    case PlotKind::kEdf:
      return "edf";
    case PlotKind::kPareto:
      return "pareto";
  }
  return "?";
}

PlotKind parse_plot_kind(const std::string& text, const std::string& field) {
  std::vector<std::string> names;
  for (PlotKind kind : all_plot_kinds()) {
    if (text == plot_kind_name(kind)) return kind;
    names.push_back(plot_kind_name(kind));
  }
  throw_invalid(field, text, "must be one of " + joined(names));
}

StudyTrials read_study_trials(Storage& storage, const std::string& study_name) {
  int64_t id = -1;
  try {
    id = storage.study_id_from_name(study_name);
  } catch (const NotFound&) {
    throw NotFound(detail::invalid_message("study", study_name, "no such study"));
  }
  return {study_name, storage.study_directions(id), storage.trials(id)};
}

std::string history_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<double> numbers, values, best;
  bool maximize = drawn.direction == StudyDirection::kMaximize;
  for (const FrozenTrial* t : drawn.trials) {
    double v = drawn.value(*t);
    numbers.push_back(static_cast<double>(t->number));
    values.push_back(v);
    best.push_back(best.empty() ? v
                   : maximize   ? std::max(best.back(), v)
                                : std::min(best.back(), v));
  }
  Chart chart;
  chart.title("Optimization History Plot")
      .x_axis(Axis().label("Trial"))
      .y_axis(Axis().label(options.target_name()));
  chart.add(Series(options.target_name(), numbers, values).style(SeriesStyle::kPoints));
  // Optuna draws the best value only without a target (single-objective studies).
  if (!drawn.multi) {
    chart.add(Series("Best Value", numbers, best).style(SeriesStyle::kStep).color("#d62728"));
  }
  return to_svg(chart);
}

std::string intermediate_plot(const StudyTrials& study, const StudyPlotOptions& /*options*/) {
  Chart chart;
  chart.title("Intermediate Values Plot")
      .x_axis(Axis().label("Step"))
      .y_axis(Axis().label("Intermediate Value"));
  for (const FrozenTrial& t : study.trials) {
    bool shown = t.state == TrialState::kComplete || t.state == TrialState::kPruned ||
                 t.state == TrialState::kRunning;
    if (!shown || t.intermediate_values.empty()) continue;
    std::vector<double> steps, values;
    for (const auto& [step, value] : t.intermediate_values) {
      steps.push_back(static_cast<double>(step));
      values.push_back(value);
    }
    chart.add(Series("Trial " + std::to_string(t.number), steps, values).point_radius(2.0));
  }
  KNOB_CHECK(!chart.series().empty(), "study", study.name,
             "has no COMPLETE, PRUNED or RUNNING trial that reported intermediate values: "
             "nothing to plot");
  if (chart.series().size() > 10) chart.legend(LegendPosition::kNone);
  return to_svg(chart);
}

std::string parallel_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<ParamAxis> params = param_axes(study, drawn, options, 1, "parallel");
  ValueColors colors = value_colors(drawn);
  std::vector<std::vector<double>> rows;
  std::vector<std::string> row_colors, tips;
  for (const FrozenTrial* t : drawn.trials) {
    if (!std::all_of(params.begin(), params.end(), [&](const ParamAxis& p) { return p.has(*t); }))
      continue;  // Optuna skips trials without every parameter shown
    std::vector<double> row{drawn.value(*t)};
    for (const ParamAxis& p : params) row.push_back(p.position(*t));
    rows.push_back(std::move(row));
    row_colors.push_back(colors(drawn.value(*t)));
    tips.push_back("Trial " + std::to_string(t->number) + ": " + short_number(drawn.value(*t), 6));
  }
  std::vector<std::string> names;
  for (const ParamAxis& p : params) names.push_back(p.name);
  KNOB_CHECK(!rows.empty(), "params", joined(names),
             "no COMPLETE trial of study '" + study.name + "' has all of them");
  std::vector<ParallelAxis> axes;
  ParamAxis objective;
  objective.name = options.target_name();
  for (size_t i = 0; i <= params.size(); ++i) {
    const ParamAxis& p = i == 0 ? objective : params[i - 1];
    std::vector<double> positions;
    for (const auto& row : rows) positions.push_back(row[i]);
    auto [lo, hi] = axis_span(p, positions);
    axes.push_back({p.name, p.log, p.categories, lo, hi});
  }
  return parallel_svg(axes, rows, row_colors, tips, colors.legend(options.target_name()));
}

std::string slice_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<ParamAxis> params = param_axes(study, drawn, options, 1, "slice");
  std::vector<Chart> charts;
  for (const ParamAxis& p : params) {
    std::vector<double> xs, ys;
    for (const FrozenTrial* t : drawn.trials) {
      if (!p.has(*t)) continue;
      xs.push_back(p.position(*t));
      ys.push_back(drawn.value(*t));
    }
    Chart chart;
    chart.width(420).height(340).legend(LegendPosition::kNone);
    chart.x_axis(chart_axis(p)).y_axis(Axis().label(options.target_name()));
    chart.add(Series(p.name, xs, ys).style(SeriesStyle::kPoints));
    charts.push_back(std::move(chart));
  }
  return to_svg_grid(charts, 3, "Slice Plot");
}

std::string importance_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<ParamAxis> params = param_axes(study, drawn, options, 2, "importance");
  std::vector<std::string> names;
  for (const ParamAxis& p : params) names.push_back(p.name);
  std::vector<FrozenTrial> trials;
  for (const FrozenTrial* t : drawn.trials) trials.push_back(*t);
  auto importances = param_importances(
      trials, ImportanceOptions()
                  .params(names)
                  .seed(options.seed())
                  .objective(drawn.multi ? std::optional<int>(static_cast<int>(drawn.objective))
                                         : std::nullopt));
  KNOB_CHECK(!importances.empty(), "params", joined(names),
             "none takes more than one value in the COMPLETE trials of study '" + study.name +
                 "': no importance to plot");
  // Largest on top: category 0 is at the bottom.
  std::reverse(importances.begin(), importances.end());
  std::vector<std::string> categories;
  for (const auto& entry : importances) categories.push_back(entry.first);
  Chart chart;
  chart.title("Hyperparameter Importances")
      .height(std::max(240, 120 + 40 * static_cast<int>(importances.size())))
      .x_axis(Axis().label("Hyperparameter Importance").min(0.0))
      .y_axis(Axis().label("Hyperparameter").categories(categories))
      .legend(LegendPosition::kNone);
  for (size_t i = 0; i < importances.size(); ++i) {
    double y = static_cast<double>(i);
    chart.fill(FilledRect()
                   .x0(0.0)
                   .x1(importances[i].second)
                   .y0(y - 0.35)
                   .y1(y + 0.35)
                   .color("#4292c6")
                   .label(importances[i].first + ": " + short_number(importances[i].second, 3)));
  }
  return to_svg(chart);
}

std::string contour_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<ParamAxis> params = param_axes(study, drawn, options, 2, "contour");
  ValueColors colors = value_colors(drawn);
  bool one = params.size() == 2;
  std::vector<Chart> charts;
  for (size_t i = 0; i < params.size(); ++i) {
    for (size_t j = i + 1; j < params.size(); ++j) {
      charts.push_back(contour_chart(params[i], params[j], drawn, colors, options.target_name(),
                                     one ? 640 : 400, one ? 480 : 340));
    }
  }
  return to_svg_grid(charts, 3, "Contour Plot (" + colors.legend(options.target_name()) + ")");
}

std::string edf_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  Drawn drawn = drawn_trials(study, options);
  std::vector<double> values;
  for (const FrozenTrial* t : drawn.trials) values.push_back(drawn.value(*t));
  std::sort(values.begin(), values.end());
  constexpr int kSamples = 100;  // Optuna's NUM_SAMPLES_X_AXIS
  std::vector<double> xs, ys;
  for (int k = 0; k < kSamples; ++k) {
    double x = values.front() + (values.back() - values.front()) * k / (kSamples - 1);
    if (k == kSamples - 1) x = values.back();
    auto below = std::upper_bound(values.begin(), values.end(), x) - values.begin();
    xs.push_back(x);
    ys.push_back(static_cast<double>(below) / static_cast<double>(values.size()));
  }
  Chart chart;
  chart.title("Empirical Distribution Function Plot")
      .x_axis(Axis().label(options.target_name()))
      .y_axis(Axis().label("Cumulative Probability"))
      .legend(LegendPosition::kBottomRight);
  chart.add(Series(study.name, xs, ys).point_radius(2.0));
  return to_svg(chart);
}

std::string pareto_plot(const StudyTrials& study, const StudyPlotOptions& options) {
  const int n = static_cast<int>(study.directions.size());
  KNOB_CHECK(n >= 2, "study", study.name,
             "has one objective: the Pareto plot needs a multi-objective study");
  const std::vector<int> axes =
      options.objectives().empty() ? std::vector<int>{0, 1} : options.objectives();
  KNOB_CHECK(axes.size() == 2 && axes[0] != axes[1], "objectives", joined_numbers(axes),
             "must be two different objectives (across, up)");
  for (int index : axes) {
    KNOB_CHECK(index >= 0 && index < n, "objectives", index,
               "must be 0 to " + std::to_string(n - 1) + ": study '" + study.name + "' has " +
                   std::to_string(n) + " objectives");
  }
  const std::vector<std::string>& names = options.target_names();
  KNOB_CHECK(names.empty() || names.size() == 2, "target_names", joined(names),
             "must name the two objectives plotted");
  auto name_of = [&](size_t k) {
    return names.empty() ? "Objective " + std::to_string(axes[k]) : names[k];
  };
  const auto x = static_cast<size_t>(axes[0]), y = static_cast<size_t>(axes[1]);
  std::vector<const FrozenTrial*> front = pareto_front(study.trials, study.directions);
  Series dominated("dominated", {}, {}), infeasible("infeasible", {}, {});
  dominated.style(SeriesStyle::kPoints).color("#9ab");
  infeasible.style(SeriesStyle::kPoints).color("#ff7f0e");
  for (const FrozenTrial& t : study.trials) {
    if (t.state != TrialState::kComplete || t.values.size() != study.directions.size() ||
        !std::isfinite(t.values[x]) || !std::isfinite(t.values[y]) ||
        std::find(front.begin(), front.end(), &t) != front.end()) {
      continue;
    }
    Series& series = is_feasible(t) ? dominated : infeasible;
    series.x().push_back(t.values[x]);
    series.y().push_back(t.values[y]);
  }
  KNOB_CHECK(!front.empty() || !dominated.x().empty() || !infeasible.x().empty(), "study",
             study.name, "has no COMPLETE trial with finite values: nothing to plot");
  std::sort(front.begin(), front.end(), [&](const FrozenTrial* a, const FrozenTrial* b) {
    return a->values[x] < b->values[x];
  });
  Chart chart;
  chart.title("Pareto-front Plot")
      .x_axis(Axis().label(name_of(0)))
      .y_axis(Axis().label(name_of(1)));
  Series line("Best Trials", {}, {});
  // A step line is the front's boundary only when these are its only two objectives.
  line.style(n == 2 ? SeriesStyle::kStep : SeriesStyle::kPoints).color("#d62728");
  for (const FrozenTrial* t : front) {
    line.x().push_back(t->values[x]);
    line.y().push_back(t->values[y]);
    chart.annotate(
        Annotation::point(t->values[x], t->values[y], "trial " + std::to_string(t->number)));
  }
  if (!dominated.x().empty()) chart.add(dominated);
  if (!line.x().empty()) chart.add(line);
  if (!infeasible.x().empty()) chart.add(infeasible);
  return to_svg(chart);
}

std::string study_plot(PlotKind kind, const StudyTrials& study, const StudyPlotOptions& options) {
  switch (kind) {
    case PlotKind::kHistory:
      return history_plot(study, options);
    case PlotKind::kIntermediate:
      return intermediate_plot(study, options);
    case PlotKind::kParallel:
      return parallel_plot(study, options);
    case PlotKind::kSlice:
      return slice_plot(study, options);
    case PlotKind::kImportance:
      return importance_plot(study, options);
    case PlotKind::kContour:
      return contour_plot(study, options);
    case PlotKind::kEdf:
      return edf_plot(study, options);
    case PlotKind::kPareto:
      return pareto_plot(study, options);
  }
  throw_invalid("kind", static_cast<int>(kind), "is not a plot kind");
}

std::optional<PlotFormat> plot_format_for(const std::string& path) {
  size_t dot = path.find_last_of("./");
  if (dot == std::string::npos || path[dot] != '.') return std::nullopt;
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "svg") return PlotFormat::kSvg;
  if (ext == "png") return PlotFormat::kPng;
  return std::nullopt;
}

void write_plot(const std::string& svg, const std::string& path) {
  std::optional<PlotFormat> format = plot_format_for(path);
  KNOB_CHECK(format.has_value(), "output", path, "must end in .svg or .png");
  std::string bytes = *format == PlotFormat::kPng ? to_png(svg, svg_width(svg)) : svg;
  std::string tmp = png_or_svg_tmp(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out || !out.flush()) {
      int error = errno;
      std::remove(tmp.c_str());
      throw Error("cannot write " + path + ": " + std::strerror(error));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": " + std::strerror(error));
  }
}

}  // namespace knob
