// knob lr-find CONFIG.toml: the learning-rate range test, its curve as CSV, SVG and PNG, and
// the suggestions on stdout.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/report/chart.h"
#include "knob/report/lr_find_chart.h"
#include "knob/report/png.h"
#include "knob/train/config.h"
#include "knob/train/trainer_plugin.h"

namespace knob::cli {
namespace {

struct LrFindFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::string out = "lr_find";
};

void write_curve_csv(const LrFindResult& r, const std::string& path) {
  std::ofstream out(path);
  KNOB_CHECK(out.good(), "--out", path, "must name a writable file prefix");
  out << "step,lr,loss,smoothed_loss\n";
  char line[128];
  for (size_t i = 0; i < r.lrs.size(); ++i) {
    std::snprintf(line, sizeof line, "%zu,%.10g,%.10g,%.10g\n", i, r.lrs[i], r.losses[i],
                  r.smoothed[i]);
    out << line;
  }
}

void run_lr_find(const LrFindFlags& flags) {
  TrainConfig config = load_train_config(flags.config);
  for (const auto& o : flags.overrides) apply_override(config, o);
  config.output.progress = false;
  validate(config);  // before the plugin loads: bad input answers at once
  const LrFindConfig& f = config.lr_find;
  std::cerr << "[knob] lr-find: " << config.optimizer.kind << ", batch " << config.batch.size
            << ", lr " << f.start << " to " << f.end << " (" << f.mode << ") over " << f.steps
            << " steps\n";
  LrFindResult r = find_lr_with_plugin(config);

  write_curve_csv(r, flags.out + ".csv");
  const std::string svg = to_svg(lr_find_chart(r));
  {
    std::ofstream out(flags.out + ".svg");
    KNOB_CHECK(out.good(), "--out", flags.out + ".svg", "must name a writable file prefix");
    out << svg;
  }
  write_png(svg, flags.out + ".png", 1600);

  std::printf("%zu steps in %.1fs, %s\n", r.lrs.size(), r.seconds,
              r.stop_reason == "diverged" ? "stopped when the smoothed loss diverged"
                                          : "swept the whole range");
  for (const auto& s : r.suggestions) {
    std::printf("  %-9s %.3g%s\n", s.name.c_str(), s.lr, s.name == r.chosen ? "  (chosen)" : "");
  }
  std::printf("curve: %s.csv, plot: %s.svg, %s.png\n", flags.out.c_str(), flags.out.c_str(),
              flags.out.c_str());
  if (r.chosen.empty()) {
    throw TrainingDiverged("lr-find: the loss diverged after " + std::to_string(r.lrs.size()) +
                           " steps, too few for a suggestion; lower lr_find.end or raise "
                           "lr_find.steps");
  }
  std::printf("suggested: --set optimizer.lr=%.3g\n", r.lr);
}

}  // namespace

void add_lr_find_command(CLI::App& app) {
  auto flags = std::make_shared<LrFindFlags>();
  CLI::App* cmd = app.add_subcommand(
      "lr-find", "Learning-rate range test: the loss over a sweep of learning rates, suggestions");
  cmd->add_option("config", flags->config, "TOML config ([data] [model] [optimizer] [lr_find] ...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", flags->overrides,
                  "Override a config key: table.key=value (repeat), e.g. lr_find.steps=200");
  cmd->add_option("--out", flags->out, "Prefix of the files written: PREFIX.csv, .svg, .png")
      ->capture_default_str();
  cmd->callback([flags] { run_lr_find(*flags); });
}

}  // namespace knob::cli
