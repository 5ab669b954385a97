// knob lr-find CONFIG.toml: the learning-rate range test, its curve as CSV, SVG and PNG, and
// the suggestions on stdout.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "finder_command.h"
#include "knob/core/error.h"
#include "knob/report/lr_find_chart.h"
#include "knob/run/finder_runs.h"
#include "knob/train/trainer_plugin.h"

namespace knob::cli {
namespace {

void write_curve_csv(const LrFindResult& r, const std::string& path) {
  std::ofstream out = open_output(path);
  out << "step,lr,loss,smoothed_loss\n";
  char line[128];
  for (size_t i = 0; i < r.lrs.size(); ++i) {
    std::snprintf(line, sizeof line, "%zu,%.10g,%.10g,%.10g\n", i, r.lrs[i], r.losses[i],
                  r.smoothed[i]);
    out << line;
  }
}

void run_lr_find(const TrainConfig& config, const FinderFlags& flags) {
  const LrFindConfig& f = config.lr_find;
  std::cerr << "[knob] lr-find: " << config.optimizer.kind << ", batch " << config.batch.size
            << ", lr " << f.start << " to " << f.end << " (" << f.mode << ") over " << f.steps
            << " steps\n";
  LrFindResult r = find_lr_with_plugin(config);

  write_curve_csv(r, flags.out + ".csv");
  write_chart_files(lr_find_chart(r), flags.out);

  std::printf("%zu steps in %.1fs, %s\n", r.lrs.size(), r.seconds,
              r.stop_reason == "diverged" ? "stopped when the smoothed loss diverged"
                                          : "swept the whole range");
  for (const auto& s : r.suggestions) {
    std::printf("  %-9s %.3g%s\n", s.name.c_str(), s.lr, s.name == r.chosen ? "  (chosen)" : "");
  }
  std::printf("curve: %s.csv, plot: %s.svg, %s.png\n", flags.out.c_str(), flags.out.c_str(),
              flags.out.c_str());
  record_run(flags, "lr_find", lr_find_record(r, f));
  std::printf("suggested: --set optimizer.lr=%.3g\n", suggested_lr(r, f));
}

}  // namespace

void add_lr_find_command(CLI::App& app) {
  add_finder_command(
      app, "lr-find",
      "Learning-rate range test: the loss over a sweep of learning rates, suggestions", "lr_find",
      "lr_find.steps=200", run_lr_find);
}

}  // namespace knob::cli
