#include "finder_command.h"

#include <unistd.h>

#include <filesystem>
#include <memory>

#include "knob/core/error.h"
#include "knob/report/png.h"

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
  cmd->callback([flags, run] {
    TrainConfig config = load_train_config(flags->config);
    for (const auto& o : flags->overrides) apply_override(config, o);
    config.output.progress = false;
    validate(config);  // before the plugin loads: bad input answers at once
    const std::filesystem::path dir =
        std::filesystem::absolute(flags->out).parent_path();  // checked before the run
    KNOB_CHECK(std::filesystem::is_directory(dir) && access(dir.c_str(), W_OK) == 0, "--out",
               flags->out, "must be a file prefix in a writable directory");
    run(config, *flags);
  });
}

std::ofstream open_output(const std::string& path) {
  std::ofstream out(path);
  KNOB_CHECK(out.good(), "--out", path, "must name a writable file prefix");
  return out;
}

void write_chart_files(const Chart& chart, const std::string& prefix) {
  const std::string svg = to_svg(chart);
  open_output(prefix + ".svg") << svg;
  write_png(svg, prefix + ".png", 1600);
}

}  // namespace knob::cli
