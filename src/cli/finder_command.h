// What the finder verbs (knob lr-find, knob batch-find) share: the same arguments (a config,
// --set overrides, an --out prefix, --storage and --study), the config read and checked before
// the trainer plugin loads, their files written under the prefix and the run recorded in a
// storage (knob/run/finder_runs.h).
#pragma once

#include <CLI/CLI.hpp>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "knob/core/json.h"
#include "knob/report/chart.h"
#include "knob/train/config.h"

namespace knob::cli {

struct FinderFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;      // prefix of PREFIX.csv, PREFIX.svg, PREFIX.png
  std::string storage;  // where to record the run ("": nowhere)
  std::string study;    // the study that keeps it (default: the config file's stem)
};

// Registers `name` with the shared arguments; `run` gets the validated config and the flags.
void add_finder_command(CLI::App& app, const std::string& name, const std::string& description,
                        const std::string& default_out, const std::string& set_example,
                        std::function<void(const TrainConfig&, const FinderFlags&)> run);

// A file to write, or InvalidArgument naming --out.
std::ofstream open_output(const std::string& path);

// PREFIX.svg and PREFIX.png (1600 px wide) of the chart.
void write_chart_files(const Chart& chart, const std::string& prefix);

// With --storage: records the run (kind "lr_find" or "batch_find") in the study and says where.
void record_run(const FinderFlags& flags, const std::string& kind, const Json& record);

}  // namespace knob::cli
