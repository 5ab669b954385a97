#include <iostream>
#include <memory>
#include <optional>

#include "builtin_objectives.h"
#include "commands.h"
#include "knob/core/error.h"
#include "knob/tuner/grid_sampler.h"
#include "knob/tuner/median_pruner.h"
#include "knob/tuner/random_sampler.h"
#include "knob/tuner/study.h"

namespace knob::cli {
namespace {

struct TuneFlags {
  std::string storage = "sqlite:///knob.db";
  std::string study_name;
  std::string objective = "branin";
  std::string sampler = "random";
  std::vector<std::string> grid;
  std::string pruner = "median";
  std::optional<int64_t> n_trials;
  std::optional<double> timeout;
  int jobs = 1;
  std::optional<uint64_t> seed;
  bool quiet = false;
};

// "--grid x=-5,0,5" -> {"x", {-5.0, 0.0, 5.0}}; values are numbers or strings.
GridSampler::SearchSpace parse_grid(const std::vector<std::string>& specs) {
  GridSampler::SearchSpace space;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    KNOB_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(), "--grid", spec,
               "must look like NAME=V1,V2,... (e.g. lr=0.001,0.01,0.1)");
    std::string name = spec.substr(0, eq);
    std::vector<ParamValue>& values = space[name];
    size_t start = eq + 1;
    while (start <= spec.size()) {
      size_t comma = spec.find(',', start);
      std::string item = spec.substr(start, comma == std::string::npos ? std::string::npos
                                                                      : comma - start);
      KNOB_CHECK(!item.empty(), "--grid " + name, spec, "must not have empty values");
      Json parsed = Json::parse(item, nullptr, false);
      if (parsed.is_number() || parsed.is_boolean()) {
        values.push_back(param_value_from_json(parsed, "--grid " + name));
      } else {
        values.push_back(item);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return space;
}

void run_tune(const TuneFlags& flags) {
  const BuiltinObjective& objective = find_builtin_objective(flags.objective);
  std::shared_ptr<Sampler> sampler;
  if (flags.sampler == "grid") {
    KNOB_CHECK(!flags.grid.empty(), "--grid", std::string(""),
               "must be given (NAME=V1,V2,...) when --sampler is grid");
    sampler = std::make_shared<GridSampler>(parse_grid(flags.grid), flags.seed);
  } else {
    sampler = std::make_shared<RandomSampler>(flags.seed);
  }
  std::shared_ptr<Pruner> pruner;
  if (flags.pruner == "none") {
    pruner = std::make_shared<NopPruner>();
  } else {
    pruner = std::make_shared<MedianPruner>();
  }
  std::string name = flags.study_name.empty() ? "knob-" + objective.name : flags.study_name;
  Study study = create_study(StudyOptions()
                                 .storage(flags.storage)
                                 .study_name(name)
                                 .sampler(sampler)
                                 .pruner(pruner)
                                 .load_if_exists(true));
  OptimizeOptions options;
  options.n_jobs(flags.jobs).show_progress(!flags.quiet).timeout(flags.timeout);
  if (flags.n_trials) {
    options.n_trials(flags.n_trials);
  } else if (!flags.timeout && flags.sampler != "grid") {
    options.n_trials(50);
  }
  std::cerr << "[knob] study '" << name << "' in " << flags.storage << ": " << objective.description
            << "\n";
  study.optimize(objective.function, options);
  FrozenTrial best = study.best_trial();
  std::cout << "best value " << dumps(Json(best.value())) << " (trial " << best.number
            << "; known minimum " << dumps(Json(objective.known_minimum)) << ")\n";
  for (const auto& [param, value] : best.params()) {
    std::cout << "  " << param << " = " << to_string(value) << "\n";
  }
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto flags = std::make_shared<TuneFlags>();
  CLI::App* tune = app.add_subcommand("tune", "Run a tuning study");
  tune->add_option("--storage", flags->storage, "Storage URL")->capture_default_str();
  tune->add_option("--study-name,--study", flags->study_name,
                   "Study to create or continue (default: knob-OBJECTIVE)");
  std::string names;
  for (const auto& o : builtin_objectives()) names += (names.empty() ? "" : ", ") + o.name;
  tune->add_option("--objective", flags->objective, "Built-in objective: " + names)
      ->capture_default_str();
  tune->add_option("--sampler", flags->sampler, "random or grid")
      ->check(CLI::IsMember({"random", "grid"}))
      ->capture_default_str();
  tune->add_option("--grid", flags->grid, "Grid values NAME=V1,V2,... (repeat per parameter)");
  tune->add_option("--pruner", flags->pruner, "median or none")
      ->check(CLI::IsMember({"median", "none"}))
      ->capture_default_str();
  tune->add_option("--n-trials", flags->n_trials, "Trials to run (default 50 without --timeout)")
      ->check(CLI::NonNegativeNumber);
  tune->add_option("--timeout", flags->timeout, "Seconds to run")->check(CLI::NonNegativeNumber);
  tune->add_option("--jobs", flags->jobs, "Trials at once")->check(CLI::PositiveNumber)
      ->capture_default_str();
  tune->add_option("--seed", flags->seed, "Sampler seed");
  tune->add_flag("--quiet", flags->quiet, "No progress line");
  tune->callback([flags] { run_tune(*flags); });
}

}  // namespace knob::cli
