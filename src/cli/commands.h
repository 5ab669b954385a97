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
// For the read-only verbs (dashboard, report): a sqlite:/// URL must name an existing file
// (opening would create an empty database). Throws InvalidArgument naming --storage.
void check_storage_exists(const std::string& url);

}  // namespace knob::cli
