// knob batch-find CONFIG.toml: the largest batch that fits a memory budget, the throughput of
// every size tried, the gradient noise scale and a recommended batch size with its learning
// rate; the table as CSV, the plot as SVG and PNG, the recommendation on stdout.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "finder_command.h"
#include "knob/core/error.h"
#include "knob/report/batch_find_chart.h"
#include "knob/run/finder_runs.h"
#include "knob/train/trainer_plugin.h"

namespace knob::cli {
namespace {

void write_table_csv(const BatchFindResult& r, const std::string& path) {
  std::ofstream out = open_output(path);
  out << "batch_size,fits,peak_mib,samples_per_second\n";
  char line[160];
  for (const auto& t : r.trials) {
    // Sizes over the budget ran one step only: no throughput.
    std::snprintf(line, sizeof line, "%lld,%s,%.6g,%s\n", static_cast<long long>(t.size),
                  t.fits ? "true" : "false", t.peak_mib,
                  t.fits ? std::to_string(t.samples_per_second).c_str() : "");
    out << line;
  }
}

void run_batch_find(const TrainConfig& config, const FinderFlags& flags) {
  const BatchFindConfig& f = config.batch_find;
  std::cerr << "[knob] batch-find: " << config.model.kind << ", " << config.optimizer.kind
            << ", from batch " << f.start << " up to "
            << (f.max_size > 0 ? std::to_string(f.max_size) : "the training-set size")
            << ", budget "
            << (f.memory_budget ? detail::format_value(*f.memory_budget) + " MiB"
                                : "50% of MemAvailable")
            << "\n";
  BatchFindResult r = find_batch_size_with_plugin(config);

  write_table_csv(r, flags.out + ".csv");
  write_chart_files(batch_find_chart(r), flags.out);

  std::printf("%zu batch sizes tried in %.1fs (cap %lld), budget %.0f MiB (%s)\n", r.trials.size(),
              r.seconds, static_cast<long long>(r.cap), r.budget_mib, r.budget_source.c_str());
  std::printf("  %10s  %4s  %10s  %12s\n", "batch size", "fits", "peak MiB", "samples/s");
  for (const auto& t : r.trials) {
    if (t.fits) {
      std::printf("  %10lld  %4s  %10.1f  %12.0f\n", static_cast<long long>(t.size), "yes",
                  t.peak_mib, t.samples_per_second);
    } else {
      std::printf("  %10lld  %4s  %10.1f  %12s\n", static_cast<long long>(t.size), "no", t.peak_mib,
                  "-");
    }
  }
  std::printf("largest batch that fits: %lld%s\n", static_cast<long long>(r.largest_fitting),
              r.largest_fitting == r.cap ? " (the cap)" : "");
  if (r.noise.batches > 0) {
    std::printf(
        "gradient noise scale B_simple = %.4g (|G|^2 %.4g, tr(Sigma) %.4g; batches %lld "
        "and %lld, %lld draws)\n",
        r.noise.b_simple, r.noise.gradient_sq, r.noise.trace,
        static_cast<long long>(r.noise.b_small), static_cast<long long>(r.noise.b_big),
        static_cast<long long>(r.noise.batches));
  }
  if (!r.noise_note.empty()) std::printf("noise scale: %s\n", r.noise_note.c_str());
  std::printf("recommended batch size: %lld (%s)\n", static_cast<long long>(r.recommended),
              r.rule.c_str());
  std::printf("learning rate: %.3g (optimizer.lr %.3g at batch.base %lld, linear scaling rule)\n",
              r.lr, r.base_lr, static_cast<long long>(r.base));
  std::printf("table: %s.csv, plot: %s.svg, %s.png\n", flags.out.c_str(), flags.out.c_str(),
              flags.out.c_str());
  record_run(flags, "batch_find", batch_find_record(r, f));
  std::printf("suggested: --set batch.size=%lld --set optimizer.lr=%.3g\n",
              static_cast<long long>(r.recommended), r.lr);
}

}  // namespace

void add_batch_find_command(CLI::App& app) {
  add_finder_command(
      app, "batch-find",
      "Batch-size finder: largest batch within a memory budget, throughput, noise scale",
      "batch_find", "batch_find.memory_budget=512", run_batch_find);
}

}  // namespace knob::cli
