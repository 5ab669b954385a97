// The verbs of the `knob` executable. Each add_* registers a subcommand on the app; the
// callbacks throw knob errors, which main() maps to exit codes (2 = bad usage or input).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace knob::cli {

// Thrown by a command to end knob with `code` after printing `message` to stderr (e.g. 130
// after Ctrl-C, as shells expect).
struct ExitRequest {
  int code;
  std::string message;
};

// knob study create|list|show|delete|export
void add_study_commands(CLI::App& app);
// knob tune: run a study on a built-in objective or, from a TOML config, on the trainer.
void add_tune_command(CLI::App& app);
// knob worker [CONFIG] --storage URL --study NAME: joins a study until its budget is spent.
void add_worker_command(CLI::App& app);
// knob train CONFIG.toml (trains through the trainer plugin, loaded on first use).
void add_train_command(CLI::App& app);
// knob lr-find CONFIG.toml: the learning-rate range test with its plot.
void add_lr_find_command(CLI::App& app);
// knob batch-find CONFIG.toml: the batch-size finder with its plot.
void add_batch_find_command(CLI::App& app);
// knob pbt CONFIG.toml: population-based training, its members and the lr schedule found.
void add_pbt_command(CLI::App& app);
// knob dashboard --storage URL: the read-only web dashboard (knob/report/dashboard.h).
void add_dashboard_command(CLI::App& app);
// knob report --storage URL --study NAME -o report.html (knob/report/html_report.h).
void add_report_command(CLI::App& app);
// knob importance --storage URL --study NAME [--json] (knob/tuner/importance/importance.h).
void add_importance_command(CLI::App& app);
// knob storage upgrade --storage URL: schema v3.0.0.d -> v3.2.0.a (knob/storage/schema_revision.h).
void add_storage_command(CLI::App& app);
// knob plot KIND --storage URL --study NAME -o FILE.svg|.png (knob/report/study_plots.h).
void add_plot_command(CLI::App& app);
// knob study copy|add-trials|enqueue, added to the `study` subcommand (warm starts).
void add_study_warm_start_commands(CLI::App& study);
// knob ask / knob tell: Optuna CLI's ask-and-tell from the shell (knob/run/ask_tell.h).
void add_ask_command(CLI::App& app);
void add_tell_command(CLI::App& app);
// For the read-only verbs (dashboard, report): a sqlite:/// URL must name an existing file
// (opening would create an empty database). Throws InvalidArgument naming --storage.
void check_storage_exists(const std::string& url);

}  // namespace knob::cli
