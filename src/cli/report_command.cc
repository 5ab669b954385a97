// knob report: one study as a self-contained HTML file (charts, trial table, data inlined).
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/report/html_report.h"
#include "knob/storage/open_storage.h"

namespace knob::cli {
namespace {

struct ReportFlags {
  std::string storage;
  std::string study_name;
  std::string output = "report.html";
};

void run_report(const ReportFlags& flags) {
  check_storage_exists(flags.storage);
  auto storage = open_storage(flags.storage, OpenMode::kReadOnly);
  std::string html;
  try {
    html = html_report(*storage, flags.study_name);
  } catch (const NotFound&) {
    throw NotFound(detail::invalid_message("--study-name", flags.study_name,
                                           "no such study in " + flags.storage));
  }
  const std::string db = storage_file(flags.storage);
  write_file_atomically(flags.output, html, "--output",
                        db.empty() ? std::vector<std::string>{} : std::vector<std::string>{db});
  std::cout << flags.output << "\n";
}

}  // namespace

void check_storage_exists(const std::string& url) {
  const std::string path = storage_file(url);  // "" unless sqlite:///PATH; without ?options
  if (path.empty()) return;                    // open_storage checks the rest
  KNOB_CHECK(std::filesystem::exists(path), "--storage", url,
             "no such file: " + path + " (these verbs only read; they create nothing)");
}

void add_report_command(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand(
      "report", "Write a study as one self-contained HTML file (charts export as SVG)");
  command->add_option("--storage", flags->storage, "Storage URL, e.g. sqlite:///knob.db")
      ->required();
  command->add_option("--study-name,--study", flags->study_name, "Name of the study")->required();
  command->add_option("-o,--output", flags->output, "The HTML file to write")
      ->capture_default_str();
  command->callback([flags] { run_report(*flags); });
}

}  // namespace knob::cli
