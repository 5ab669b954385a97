#include "finder_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "knob/core/error.h"
#include "knob/report/png.h"
#include "knob/run/finder_runs.h"
#include "knob/storage/open_storage.h"

namespace knob::cli {

void add_finder_command(CLI::App& app, const std::string& name, const std::string& description,
                        const std::string& default_out, const std::string& set_example,
                        std::function<void(const TrainConfig&, const FinderFlags&)> run) {
  auto flags = std::make_shared<FinderFlags>();
  flags->out = default_out;
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_option("config", flags->config, "TOML config ([data] [model] [optimizer] ...)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", flags->overrides,
                  "Override a config key: table.key=value (repeat), e.g. " + set_example);
  cmd->add_option("--out", flags->out, "Prefix of the files written: PREFIX.csv, .svg, .png")
      ->capture_default_str();
  cmd->add_option("--storage", flags->storage,
                  "Also record the run in this storage (e.g. sqlite:///knob.db), where `knob "
                  "dashboard` shows it");
  cmd->add_option("--study,--study-name", flags->study,
                  "With --storage: the study that keeps the run, made if missing (default: the "
                  "config file's name without .toml)");
  cmd->callback([flags, run] {
    TrainConfig config = load_train_config(flags->config);
    for (const auto& o : flags->overrides) apply_override(config, o);
    config.output.progress = false;
    validate(config);  // before the plugin loads: bad input answers at once
    const std::filesystem::path dir =
        std::filesystem::absolute(flags->out).parent_path();  // checked before the run
    KNOB_CHECK(std::filesystem::is_directory(dir) && access(dir.c_str(), W_OK) == 0, "--out",
               flags->out, "must be a file prefix in a writable directory");
    KNOB_CHECK(!flags->storage.empty() || flags->study.empty(), "--study", flags->study,
               "needs --storage");
    if (!flags->storage.empty()) {
      open_storage(flags->storage);  // a bad URL answers before the run
      if (flags->study.empty()) flags->study = std::filesystem::path(flags->config).stem().string();
    }
    run(config, *flags);
  });
}

std::ofstream open_output(const std::string& path) {
  std::ofstream out(path);
  KNOB_CHECK(out.good(), "--out", path, "must name a writable file prefix");
  return out;
}

void record_run(const FinderFlags& flags, const std::string& kind, const Json& record) {
  if (flags.storage.empty()) return;
  std::string key = record_finder_run(*open_storage(flags.storage), flags.study, kind, record);
  std::printf("recorded: study '%s', user attribute %s in %s\n", flags.study.c_str(), key.c_str(),
              flags.storage.c_str());
}

void write_chart_files(const Chart& chart, const std::string& prefix) {
  const std::string svg = to_svg(chart);
  open_output(prefix + ".svg") << svg;
  write_png(svg, prefix + ".png", 1600);
}

}  // namespace knob::cli
