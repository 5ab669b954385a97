// Study plots: each kind on a study with every distribution kind (log float, float, int,
// categorical) and on a two-objective one — well-formed, deterministic SVG with a mark per trial
// drawn — and the table of inputs each kind refuses, naming the field.
#include "knob/report/study_plots.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include "knob/core/error.h"

namespace knob {
namespace {

const Distribution kLr = FloatDistribution(1e-5, 1e-1, /*log=*/true);
const Distribution kDropout = FloatDistribution(0.0, 0.5);
const Distribution kUnits = IntDistribution(8, 128);
const Distribution kOptimizer =
    CategoricalDistribution({ParamValue(std::string("adam")), ParamValue(std::string("sgd"))});

FrozenTrial trial(int64_t number, TrialState state, std::vector<double> values, double lr,
                  double dropout, int64_t units, int optimizer) {
  FrozenTrial t;
  t.trial_id = number + 1;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  t.distributions = {
      {"lr", kLr}, {"dropout", kDropout}, {"units", kUnits}, {"optimizer", kOptimizer}};
  t.internal_params = {{"lr", lr},
                       {"dropout", dropout},
                       {"units", static_cast<double>(units)},
                       {"optimizer", static_cast<double>(optimizer)}};
  for (int step = 0; step < 3; ++step) t.intermediate_values[step] = 1.0 / (step + 1) + number;
  return t;
}

// 8 COMPLETE trials, one PRUNED (with intermediate values) and one FAIL.
StudyTrials single_study() {
  StudyTrials s{"mixed <&>", {StudyDirection::kMinimize}, {}};
  for (int i = 0; i < 10; ++i) {
    TrialState state = i == 3   ? TrialState::kPruned
                       : i == 6 ? TrialState::kFail
                                : TrialState::kComplete;
    std::vector<double> values;
    if (state == TrialState::kComplete) values = {std::abs(4.0 - i) + 0.5 * (i % 2)};
    s.trials.push_back(
        trial(i, state, values, std::pow(10.0, -5 + 0.4 * i), 0.05 * i, 8 + 12 * i, i % 2));
  }
  return s;
}

StudyTrials two_objective_study() {
  StudyTrials s{"mo", {StudyDirection::kMinimize, StudyDirection::kMaximize}, {}};
  for (int i = 0; i < 6; ++i) {
    s.trials.push_back(trial(i, TrialState::kComplete, {1.0 * i, 10.0 - i}, 1e-3 * (i + 1),
                             0.1 * (i % 3), 16 * (i + 1), i % 2));
    s.trials.back().intermediate_values.clear();
  }
  return s;
}

bool well_formed(const std::string& svg) {
  xmlDoc* doc = xmlReadMemory(svg.data(), static_cast<int>(svg.size()), "plot.svg", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc) xmlFreeDoc(doc);
  return doc != nullptr;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Occurrences of `needle` inside every group that opens with `group` (up to its "</g>").
size_t count_in(const std::string& svg, const std::string& group, const std::string& needle) {
  size_t n = 0;
  for (size_t at = svg.find(group); at != std::string::npos; at = svg.find(group, at + 1)) {
    n += count(svg.substr(at, svg.find("</g>", at) - at), needle);
  }
  return n;
}

// A series' scatter dots (the legend's swatch dots carry a fill attribute; these do not).
size_t dots(const std::string& svg) {
  static const std::regex dot("<circle cx=\"[^\"]*\" cy=\"[^\"]*\" r=\"[0-9.]+\"/>");
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(svg.begin(), svg.end(), dot), std::sregex_iterator()));
}

TEST(StudyPlots, EveryKindIsWellFormedDeterministicAndEscaped) {
  StudyTrials single = single_study(), mo = two_objective_study();
  for (PlotKind kind : all_plot_kinds()) {
    SCOPED_TRACE(plot_kind_name(kind));
    if (kind == PlotKind::kPareto) continue;  // needs two objectives: its own test below
    std::string svg = study_plot(kind, single);
    EXPECT_TRUE(well_formed(svg));
    EXPECT_EQ(svg, study_plot(kind, single));
    EXPECT_EQ(svg.find("mixed <&>"), std::string::npos);
    if (kind == PlotKind::kIntermediate) continue;  // no intermediate values in `mo`
    auto options = StudyPlotOptions().objective_index(1).target_name("acc<uracy>");
    std::string two = study_plot(kind, mo, options);
    EXPECT_TRUE(well_formed(two));
    if (kind != PlotKind::kImportance) {
      EXPECT_NE(two.find("acc&lt;uracy&gt;"), std::string::npos);
    }
  }
}

TEST(StudyPlots, HistoryHasADotPerCompleteTrialAndTheBestSoFar) {
  std::string svg = history_plot(single_study());
  EXPECT_EQ(dots(svg), 8u);
  EXPECT_NE(svg.find("<title>Best Value</title>"), std::string::npos);
  std::string two = history_plot(two_objective_study(), StudyPlotOptions().objective_index(0));
  EXPECT_EQ(dots(two), 6u);
  EXPECT_EQ(two.find("Best Value"), std::string::npos);  // Optuna: none with a target
}

TEST(StudyPlots, IntermediateHasALinePerTrialThatReported) {
  std::string svg = intermediate_plot(single_study());
  EXPECT_EQ(count(svg, "<g class=\"series\""), 9u);  // 8 COMPLETE + 1 PRUNED; not the FAIL
  EXPECT_NE(svg.find("<title>Trial 3</title>"), std::string::npos);
  EXPECT_EQ(svg.find("<title>Trial 6</title>"), std::string::npos);
}

TEST(StudyPlots, ParallelHasALinePerTrialAndAnAxisPerParameter) {
  std::string svg = parallel_plot(single_study());
  EXPECT_EQ(count(svg, "<polyline class=\"trial\""), 8u);
  std::regex label("class=\"axis-label\"[^>]*>([^<]*)<");
  std::vector<std::string> labels;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator();
       ++it) {
    labels.push_back((*it)[1]);
  }
  EXPECT_EQ(labels,
            (std::vector<std::string>{"Objective Value", "dropout", "lr", "optimizer", "units"}));
  EXPECT_NE(svg.find(">1e-4</text>"), std::string::npos);  // the log axis' decades
  EXPECT_NE(svg.find(">sgd</text>"), std::string::npos);   // the categorical axis' choices
}

TEST(StudyPlots, SliceAndContourDrawEachTrialOncePerChart) {
  StudyTrials s = single_study();
  std::string slice = slice_plot(s, StudyPlotOptions().params({"units", "lr"}));
  EXPECT_EQ(count(slice, "<g class=\"cell\""), 2u);
  EXPECT_EQ(dots(slice), 16u);
  std::string contour = contour_plot(s);  // 4 parameters: 6 pairs
  EXPECT_EQ(count(contour, "<g class=\"cell\""), 6u);
  EXPECT_EQ(count_in(contour, "<g class=\"rects\"", "<rect "), 6u * 32 * 32);
  EXPECT_EQ(dots(contour), 6u * 8);
}

TEST(StudyPlots, ContourCellsInterpolateByInverseDistance) {
  // Two trials placed symmetrically about the plot's centre, values 0 (best: minimize) and 1:
  // each cell of the other diagonal is as far from both, so it gets 0.5 exactly — Blues' middle
  // stop, #6baed6 — and the corner cell by the best trial is darker than the one by the worst.
  StudyTrials s{"corners", {StudyDirection::kMinimize}, {}};
  s.trials.push_back(trial(0, TrialState::kComplete, {0.0}, 1e-3, 0.1, 8, 0));
  s.trials.push_back(trial(1, TrialState::kComplete, {1.0}, 1e-3, 0.4, 8, 0));
  s.trials[0].internal_params["units"] = 0.1;
  s.trials[1].internal_params["units"] = 0.4;
  std::string svg = contour_plot(s, StudyPlotOptions().params({"dropout", "units"}));
  EXPECT_GE(count(svg, "fill=\"#6baed6\""), 32u);
  std::regex fill("<rect [^>]*fill=\"#([0-9a-f]{2})");
  std::vector<int> reds;
  size_t group = svg.find("<g class=\"rects\"");
  std::string cells = svg.substr(group, svg.find("</g>", group) - group);
  for (auto it = std::sregex_iterator(cells.begin(), cells.end(), fill);
       it != std::sregex_iterator(); ++it) {
    reds.push_back(std::stoi((*it)[1], nullptr, 16));
  }
  ASSERT_EQ(reds.size(), 32u * 32u);
  EXPECT_LT(reds.front(), reds.back());  // cell (0, 0) is by trial 0, the last by trial 1
}

TEST(StudyPlots, EdfSamplesOneHundredValuesFromLowestToHighest) {
  std::string svg = edf_plot(single_study());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<polyline points=\"([^\"]*)\"")));
  std::string points = m[1];
  EXPECT_EQ(count(points, ","), 100u);
}

TEST(StudyPlots, ImportanceHasABarPerParameter) {
  std::string svg = importance_plot(single_study(), StudyPlotOptions().params({"lr", "units"}));
  EXPECT_EQ(count_in(svg, "<g class=\"rects\"", "<rect "), 2u);
}

TEST(StudyPlots, ParetoDrawsTheFrontApartFromTheDominatedAndTheInfeasible) {
  // Objective 0 minimized (i), objective 1 maximized (10 - i): trial 0 dominates the others;
  // trial 0 infeasible leaves trial 1 alone on the front; trial 4 infeasible too.
  StudyTrials mo = two_objective_study();
  mo.trials[0].system_attrs["constraints"] = Json::array({0.5});
  mo.trials[4].system_attrs["constraints"] = Json::array({2.0, -1.0});
  mo.trials[2].system_attrs["constraints"] = Json::array({0.0});  // 0 is feasible
  std::string svg = pareto_plot(mo, StudyPlotOptions().target_names({"seconds", "acc<"}));
  EXPECT_TRUE(well_formed(svg));
  EXPECT_EQ(count_in(svg, "<g class=\"annotations\"", "trial "), 1u);
  EXPECT_NE(svg.find(">trial 1<"), std::string::npos);
  EXPECT_NE(svg.find("<title>dominated</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>infeasible</title>"), std::string::npos);
  EXPECT_EQ(dots(svg), 5u);  // 3 dominated + 2 infeasible; the front's point is annotated
  EXPECT_NE(svg.find(">acc&lt;<"), std::string::npos);
  // Swapped axes: the same front, labelled by the default names.
  std::string swapped = pareto_plot(mo, StudyPlotOptions().objectives({1, 0}));
  EXPECT_NE(swapped.find(">Objective 1<"), std::string::npos);
  EXPECT_EQ(count_in(swapped, "<g class=\"annotations\"", "trial "), 1u);
  EXPECT_EQ(svg, pareto_plot(mo, StudyPlotOptions().target_names({"seconds", "acc<"})));
}

TEST(StudyPlots, RefusesWhatCannotBePlottedNamingTheField) {
  StudyTrials single = single_study(), mo = two_objective_study();
  StudyTrials none{"none", {StudyDirection::kMinimize}, {}};
  StudyTrials only_failed = single;
  only_failed.name = "failed";
  for (auto& t : only_failed.trials) t.state = TrialState::kFail;
  struct Bad {
    PlotKind kind;
    const StudyTrials* study;
    StudyPlotOptions options;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {PlotKind::kHistory, &none, {}, "study = \"none\": has no COMPLETE trial"},
      {PlotKind::kEdf, &only_failed, {}, "study = \"failed\": has no COMPLETE trial"},
      {PlotKind::kIntermediate, &none, {}, "reported intermediate values"},
      {PlotKind::kSlice, &single, StudyPlotOptions().params({"nope"}),
       "params = \"nope\": no such parameter in the COMPLETE trials of study 'mixed <&>' (it has: "
       "dropout, lr, optimizer, units)"},
      {PlotKind::kSlice, &single, StudyPlotOptions().params({"lr", "lr"}), "is given twice"},
      {PlotKind::kContour, &single, StudyPlotOptions().params({"lr"}),
       "the contour plot needs at least 2 parameters"},
      {PlotKind::kImportance, &single, StudyPlotOptions().params({"units"}),
       "the importance plot needs at least 2 parameters"},
      {PlotKind::kHistory, &mo, {}, "objective_index = \"unset\": required"},
      {PlotKind::kContour, &mo, StudyPlotOptions().objective_index(2),
       "objective_index = 2: must be 0 to 1"},
      {PlotKind::kHistory, &single, StudyPlotOptions().objective_index(-1),
       "objective_index = -1: must be 0"},
      {PlotKind::kPareto, &single, {}, "the Pareto plot needs a multi-objective study"},
      {PlotKind::kPareto, &mo, StudyPlotOptions().objectives({0, 2}),
       "objectives = 2: must be 0 to 1"},
      {PlotKind::kPareto, &mo, StudyPlotOptions().objectives({1, 1}),
       "objectives = \"1, 1\": must be two different objectives"},
      {PlotKind::kPareto, &mo, StudyPlotOptions().objectives({0}), "objectives = \"0\""},
      {PlotKind::kPareto, &mo, StudyPlotOptions().target_names({"a"}),
       "target_names = \"a\": must name the two objectives plotted"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(plot_kind_name(c.kind) + " " + c.message);
    try {
      study_plot(c.kind, *c.study, c.options);
      ADD_FAILURE() << "no error";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
  try {
    parse_plot_kind("scatter", "KIND");
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("KIND = \"scatter\": must be one of history"),
              std::string::npos)
        << e.what();
  }
}

TEST(StudyPlots, FormatComesFromTheExtensionAndAFailedWriteLeavesNothing) {
  EXPECT_EQ(plot_format_for("a.svg"), PlotFormat::kSvg);
  EXPECT_EQ(plot_format_for("dir.png/a.PNG"), PlotFormat::kPng);
  for (const char* bad : {"a.pdf", "a", "svg", "a.svg/b", "a.svgz"}) {
    EXPECT_FALSE(plot_format_for(bad).has_value()) << bad;
  }
  auto dir =
      std::filesystem::temp_directory_path() /
      ("knob-plot-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  std::string svg = history_plot(single_study());
  write_plot(svg, (dir / "h.svg").string());
  std::ifstream in(dir / "h.svg", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), svg);
  write_plot(svg, (dir / "h.png").string());
  EXPECT_GT(std::filesystem::file_size(dir / "h.png"), 1000u);
  EXPECT_THROW(write_plot(svg, (dir / "h.pdf").string()), InvalidArgument);
  EXPECT_THROW(write_plot(svg, (dir / "missing" / "h.svg").string()), Error);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            2);  // h.svg, h.png
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace knob
