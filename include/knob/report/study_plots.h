// The plots of a study that Optuna's optuna.visualization draws — optimization history,
// intermediate values, parallel coordinates, slices, parameter importances, contours, the
// empirical distribution function and the Pareto front — as deterministic SVG documents
// (report/chart.h), and the file writer behind `knob plot` (SVG or PNG by extension). Pure
// functions of the trials.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db");
//   knob::StudyTrials study = knob::read_study_trials(*storage, "mlp");
//   std::string svg = knob::study_plot(knob::PlotKind::kContour, study,
//                                      knob::StudyPlotOptions().params({"lr", "batch_size"}));
//   knob::write_plot(svg, "contour.png");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "knob/core/arg.h"
#include "knob/core/trial_state.h"
#include "knob/storage/frozen_trial.h"
#include "knob/storage/storage.h"

namespace knob {

enum class PlotKind {
  kHistory,
  kIntermediate,
  kParallel,
  kSlice,
  kImportance,
  kContour,
  kEdf,
  kPareto
};

// Every kind, in the order above.
std::vector<PlotKind> all_plot_kinds();
// "history", "intermediate", "parallel", "slice", "importance", "contour", "edf", "pareto".
std::string plot_kind_name(PlotKind kind);
// The kind named `text`; throws InvalidArgument naming `field` and listing the kinds.
PlotKind parse_plot_kind(const std::string& text, const std::string& field = "kind");

struct StudyPlotOptions {
  // The parameters to show (slice, contour, parallel, importance); empty: every parameter of
  // the COMPLETE trials. Shown sorted by name, as Optuna does.
  KNOB_ARG(std::vector<std::string>, params);
  // Which objective to plot; required for a multi-objective study (Optuna's `target`).
  KNOB_ARG(std::optional<int>, objective_index);
  // The objective's name on axes and colour scales (Optuna's `target_name`).
  KNOB_ARG(std::string, target_name) = "Objective Value";
  // The Pareto plot's two objectives, across and up (Optuna's `targets`); empty: 0 and 1.
  KNOB_ARG(std::vector<int>, objectives);
  // Their names on the axes (Optuna's `target_names`); empty: "Objective N".
  KNOB_ARG(std::vector<std::string>, target_names);
  // The random forest of the importance plot (fANOVA).
  KNOB_ARG(uint64_t, seed) = 0;
};

// What a plot reads: the study's name, directions and trials.
struct StudyTrials {
  std::string name;
  std::vector<StudyDirection> directions;
  std::vector<FrozenTrial> trials;
};

// Reads a study (only reads). Throws NotFound naming the study.
StudyTrials read_study_trials(Storage& storage, const std::string& study_name);

// Each plot uses the COMPLETE trials with a finite value of the objective (intermediate: the
// COMPLETE, PRUNED and RUNNING trials that reported values) and throws InvalidArgument naming
// the field — "study" when there is nothing to draw, "params" for a parameter the COMPLETE
// trials do not have or too few parameters, "objective_index" when missing or out of range.
// Log parameters get log axes, categorical ones an axis of their choices.

// Objective value by trial number, with the best value so far (single-objective studies).
std::string history_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// One line per trial: intermediate value by step.
std::string intermediate_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// A vertical axis for the objective and each parameter, a line per trial coloured by value.
std::string parallel_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// One scatter per parameter: objective value against the parameter's value.
std::string slice_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// fANOVA importances (knob/tuner/importance/importance.h) as bars; needs 2+ parameters.
std::string importance_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// For each pair of parameters, the objective interpolated onto a 32x32 grid by inverse
// distance weighting (power 2, in axis units: log10 for log axes, the choice's index for
// categoricals) as coloured cells, the trials as dots. Needs 2+ parameters.
std::string contour_plot(const StudyTrials& study, const StudyPlotOptions& options = {});
// The fraction of trials whose value is <= x, at 100 x values from the lowest to the highest.
std::string edf_plot(const StudyTrials& study, const StudyPlotOptions& options = {});

// Two objectives of a multi-objective study (`objectives`, default 0 and 1) against each
// other: the front — the feasible COMPLETE trials no other dominates in every objective
// (study_tables.h's pareto_front) — red, joined by a step line and labelled with trial
// numbers; the dominated feasible trials grey; the infeasible (a stored constraint value
// > 0, tuner/constraints.h) orange.
std::string pareto_plot(const StudyTrials& study, const StudyPlotOptions& options = {});

// The plot of `kind`.
std::string study_plot(PlotKind kind, const StudyTrials& study,
                       const StudyPlotOptions& options = {});

enum class PlotFormat { kSvg, kPng };
// By the extension, in any case: ".svg" or ".png"; nullopt for anything else.
std::optional<PlotFormat> plot_format_for(const std::string& path);
// Writes an SVG from the functions above to `path` as SVG or PNG (at the SVG's own width) by
// its extension. Written beside it and renamed: a failure leaves no file. Throws
// InvalidArgument for another extension, knob::Error naming the path when it cannot write.
void write_plot(const std::string& svg, const std::string& path);

}  // namespace knob
