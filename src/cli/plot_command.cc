// knob plot KIND: one of Optuna's plots of a study (knob/report/study_plots.h) written to an SVG
// or PNG file, chosen by the extension of -o. Read-only: the database is never written.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/report/study_plots.h"
#include "knob/storage/open_storage.h"

namespace knob::cli {
namespace {

struct PlotFlags {
  std::string kind;
  std::string storage;
  std::string study_name;
  std::string output;
  std::vector<std::string> params;
  std::optional<int> objective_index;
  std::string target_name = "Objective Value";
  std::vector<int> objectives;
  std::vector<std::string> target_names;
};

// The library names its options; the user typed flags.
std::string with_flag_names(std::string message) {
  for (const auto& [field, flag] : {std::pair{"params = ", "--params = "},
                                    std::pair{"objective_index = ", "--objective-index = "},
                                    std::pair{"objectives = ", "--objectives = "},
                                    std::pair{"target_names = ", "--target-names = "},
                                    std::pair{"study = ", "--study-name = "}}) {
    if (message.rfind(field, 0) == 0) return flag + message.substr(std::string(field).size());
  }
  return message;
}

void run_plot(const PlotFlags& flags) {
  PlotKind kind = parse_plot_kind(flags.kind, "KIND");
  KNOB_CHECK(plot_format_for(flags.output).has_value(), "-o", flags.output,
             "must end in .svg or .png (the format is taken from the extension)");
  check_storage_exists(flags.storage);
  auto storage = open_storage(flags.storage, OpenMode::kReadOnly);
  std::string svg;
  try {
    StudyTrials study = read_study_trials(*storage, flags.study_name);
    svg = study_plot(kind, study,
                     StudyPlotOptions()
                         .params(flags.params)
                         .objective_index(flags.objective_index)
                         .target_name(flags.target_name)
                         .objectives(flags.objectives)
                         .target_names(flags.target_names));
  } catch (const NotFound&) {
    throw NotFound(detail::invalid_message("--study-name", flags.study_name,
                                           "no such study in " + flags.storage));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(with_flag_names(e.what()));
  }
  write_plot(svg, flags.output);
  std::cout << flags.output << "\n";
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto flags = std::make_shared<PlotFlags>();
  CLI::App* command = app.add_subcommand(
      "plot", "Write one of Optuna's plots of a study to an SVG or PNG file (read-only)");
  command
      ->add_option("KIND", flags->kind,
                   "history, intermediate, parallel, slice, importance, contour, edf or pareto")
      ->required();
  command->add_option("--storage", flags->storage, "Storage URL, e.g. sqlite:///knob.db")
      ->required();
  command->add_option("--study-name,--study", flags->study_name, "Name of the study")->required();
  command->add_option("-o,--output", flags->output, "The file to write: NAME.svg or NAME.png")
      ->required();
  command->add_option("--params", flags->params,
                      "Parameters to show (slice, contour, parallel, importance; default: all)");
  command->add_option("--objective-index", flags->objective_index,
                      "Which objective to plot (required for a multi-objective study)");
  command->add_option("--target-name", flags->target_name, "The objective's name on the plot")
      ->capture_default_str();
  command
      ->add_option("--objectives", flags->objectives,
                   "pareto: the two objectives plotted, across and up (default: 0,1)")
      ->delimiter(',');
  command
      ->add_option("--target-names", flags->target_names,
                   "pareto: their names on the axes (default: Objective N)")
      ->delimiter(',');
  command->callback([flags] { run_plot(*flags); });
}

}  // namespace knob::cli
