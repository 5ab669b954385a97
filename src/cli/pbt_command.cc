// knob pbt CONFIG.toml: population-based training (knob/train/population.h) through the trainer
// plugin; a table of the members and the best lineage's learning-rate schedule on stdout, and
// with --out a CSV of every member's epochs and an SVG/PNG chart of lr per epoch (the three
// from knob/report/population_report.h).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "finder_command.h"
#include "knob/core/error.h"
#include "knob/report/population_report.h"
#include "knob/train/population.h"
#include "knob/train/trainer_plugin.h"

namespace knob::cli {
namespace {

struct PbtFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> knobs;  // KEY=LOW:HIGH[:log] or KEY=A|B|C
  int64_t population = 4;
  int64_t interval = 1;
  int64_t jobs = 1;
  uint64_t seed = 0;
  double quantile = 0.25;
  double resample = 0.25;
  std::string metric = "val_accuracy";
  std::string out;
};

// A choice as typed: an integer, a number, true/false, else a word ("adam").
ParamValue choice_value(const std::string& text) {
  try {
    size_t used = 0;
    const int64_t i = std::stoll(text, &used);
    if (used == text.size()) return i;
    const double d = std::stod(text, &used);
    if (used == text.size()) return d;
  } catch (const std::logic_error&) {  // not a number
  }
  if (text == "true" || text == "false") return text == "true";
  return text;
}

// "optimizer.lr=1e-4:0.1:log", "batch.size=16:256:log" (an integer key: an integer knob) or
// "optimizer.kind=sgd|adam|adamw" (choices) -> a MutableKnob; InvalidArgument naming --knob
// otherwise.
MutableKnob parse_knob(const std::string& text) {
  const std::string allowed =
      "must be KEY=LOW:HIGH, KEY=LOW:HIGH:log (optimizer.lr=1e-4:0.1:log, "
      "batch.size=16:256:log) or KEY=CHOICE|CHOICE|... (optimizer.kind=sgd|adam)";
  const auto eq = text.find('=');
  KNOB_CHECK(eq != std::string::npos && eq > 0, "--knob", text, allowed);
  MutableKnob knob;
  knob.key = text.substr(0, eq);
  const std::string rest = text.substr(eq + 1);
  if (rest.find('|') != std::string::npos) {
    knob.kind = KnobKind::kCategorical;
    std::stringstream choices(rest);
    for (std::string choice; std::getline(choices, choice, '|');) {
      KNOB_CHECK(!choice.empty(), "--knob", text, allowed);
      knob.choices.push_back(choice_value(choice));
    }
    return knob;
  }
  std::vector<std::string> parts;
  std::stringstream range(rest);
  for (std::string part; std::getline(range, part, ':');) parts.push_back(part);
  KNOB_CHECK(parts.size() == 2 || (parts.size() == 3 && parts[2] == "log"), "--knob", text,
             allowed);
  try {
    size_t used_low = 0, used_high = 0;
    knob.low = std::stod(parts[0], &used_low);
    knob.high = std::stod(parts[1], &used_high);
    KNOB_CHECK(used_low == parts[0].size() && used_high == parts[1].size(), "--knob", text,
               allowed);
  } catch (const std::logic_error&) {  // stod: not a number, out of range
    throw_invalid("--knob", text, allowed);
  }
  knob.log = parts.size() == 3;
  if (std::holds_alternative<int64_t>(get_config_value(TrainConfig{}, knob.key))) {
    knob.kind = KnobKind::kInt;
  }
  return knob;
}

// A number in the progress lines on stderr.
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

void run_pbt(const PbtFlags& flags, const CLI::App& cmd) {
  TrainConfig config = load_train_config(flags.config);
  for (const auto& o : flags.overrides) apply_override(config, o);
  config.output.progress = false;
  validate(config);
  auto options = PopulationOptions()
                     .size(flags.population)
                     .interval(flags.interval)
                     .jobs(flags.jobs)
                     .seed(flags.seed)
                     .quantile_fraction(flags.quantile)
                     .resample_probability(flags.resample)
                     .metric(flags.metric);
  if (!flags.knobs.empty()) {
    std::vector<MutableKnob> knobs;
    for (const auto& k : flags.knobs) knobs.push_back(parse_knob(k));
    options.knobs(knobs);
  }
  validate(options);
  if (cmd.count("--out") > 0) {  // checked before the run
    const auto dir = std::filesystem::absolute(flags.out).parent_path();
    KNOB_CHECK(std::filesystem::is_directory(dir) && access(dir.c_str(), W_OK) == 0, "--out",
               flags.out, "must be a file prefix in a writable directory");
  }
  std::cerr << "[knob] pbt: " << options.size() << " members, " << config.train.epochs
            << " epochs, exploit/explore every " << options.interval() << " epoch(s)\n";
  Population population(config, options, [](const TrainConfig& c, const EpochCallback& cb) {
    return train_with_plugin(c, cb);
  });
  while (!population.done()) {
    population.train_round();
    std::cerr << "[knob] epoch " << population.epochs_done() << ":";
    for (const auto& m : population.members()) {
      std::cerr << " " << (m.history.empty() ? "-" : number(m.history.back().val_accuracy));
    }
    std::cerr << "\n";
    for (const Exploit& e : population.exploit_and_explore()) {
      std::cerr << "[knob]   member " << e.member << " copies member " << e.source << ":";
      for (const auto& [key, value] : e.knobs) {
        std::cerr << " " << key << " "
                  << (std::holds_alternative<double>(value) ? number(std::get<double>(value))
                                                            : to_string(value));
      }
      std::cerr << "\n";
    }
  }
  PopulationResult r = population.result();
  std::cout << population_summary(r);
  if (cmd.count("--out") > 0) {
    open_output(flags.out + ".csv") << population_csv(r);
    write_chart_files(population_lr_chart(r), flags.out);
    std::printf("members: %s.csv, chart: %s.svg, %s.png\n", flags.out.c_str(), flags.out.c_str(),
                flags.out.c_str());
  }
}

}  // namespace

void add_pbt_command(CLI::App& app) {
  auto flags = std::make_shared<PbtFlags>();
  CLI::App* cmd = app.add_subcommand(
      "pbt",
      "Population-based training: members copy better members and perturb their knobs (lr, "
      "batch size, choices)");
  cmd->add_option("config", flags->config, "TOML config ([data] [model] [optimizer] ...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", flags->overrides, "Override a config key: table.key=value (repeat)");
  cmd->add_option("--population", flags->population, "Members")->capture_default_str();
  cmd->add_option("--interval", flags->interval, "Epochs between exploit/explore steps")
      ->capture_default_str();
  cmd->add_option("--jobs", flags->jobs, "Members trained at once (one libtorch thread each)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Seed of the knobs and the exploit/explore draws")
      ->capture_default_str();
  cmd->add_option("--quantile", flags->quantile,
                  "Bottom fraction that copies the top fraction (0: no copies)")
      ->capture_default_str();
  cmd->add_option("--resample", flags->resample,
                  "Probability that an explored knob is redrawn from its range instead of "
                  "multiplied by 0.8 or 1.2")
      ->capture_default_str();
  cmd->add_option("--metric", flags->metric,
                  "Ranking: a per-epoch metric (val_accuracy, val_loss, val_rmse, ...)")
      ->capture_default_str();
  cmd->add_option("--knob", flags->knobs,
                  "A mutable knob: KEY=LOW:HIGH[:log] (a float, or an integer for integer keys "
                  "such as batch.size) or KEY=A|B|C (choices, explored to a neighbour); repeat; "
                  "default optimizer.lr=1e-4:0.1:log");
  cmd->add_option("--out", flags->out,
                  "Write PREFIX.csv (member, epoch, lr, val_accuracy, val_loss, copied_from) "
                  "and PREFIX.svg/.png (lr per epoch per member)");
  cmd->callback([flags, cmd] { run_pbt(*flags, *cmd); });
}

}  // namespace knob::cli
