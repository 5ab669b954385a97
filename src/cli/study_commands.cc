// knob study create|list|show|delete|export: Optuna's study verbs over a storage URL. The
// tables and JSON come from knob/report/study_tables.h and knob/report/export.h.
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/report/export.h"
#include "knob/report/study_tables.h"
#include "knob/storage/open_storage.h"

namespace knob::cli {
namespace {

// Flags shared by the study verbs, named as Optuna's CLI names them.
struct StudyFlags {
  std::string storage;
  std::string study_name;
  std::string format = "table";
  std::string output;
  std::vector<std::string> directions;
  bool skip_if_exists = false;
};

void add_storage_flag(CLI::App& command, StudyFlags& flags) {
  command.add_option("--storage", flags.storage, "Storage URL, e.g. sqlite:///knob.db")->required();
}

void add_study_name_flag(CLI::App& command, StudyFlags& flags) {
  command.add_option("--study-name,--study", flags.study_name, "Name of the study")->required();
}

// Standard output, or the file `path`, written whole or not at all and never the storage file.
void write_output(const std::string& text, const StudyFlags& flags) {
  const std::string& path = flags.output;
  if (path.empty() || path == "-") {
    std::cout << text << std::flush;
    if (!std::cout) throw Error("cannot write the export to standard output");
    return;
  }
  std::vector<std::string> keep;
  if (std::string db = storage_file(flags.storage); !db.empty()) {
    keep = {db, db + "-wal", db + "-journal", db + "-shm"};
  }
  write_file_atomically(path, text, "--output", keep);
}

// The study's id; an unknown name throws NotFound naming the flag, the value and the studies
// the storage does hold.
int64_t find_study(Storage& storage, const StudyFlags& flags) {
  try {
    return storage.study_id_from_name(flags.study_name);
  } catch (const NotFound&) {
    std::string names;
    for (const auto& s : storage.all_studies()) names += (names.empty() ? "" : ", ") + s.study_name;
    throw NotFound(detail::invalid_message(
        "--study-name", flags.study_name,
        "no such study in " + flags.storage + "; " +
            (names.empty() ? std::string("it holds no studies") : "it holds: " + names)));
  }
}

void run_create(const StudyFlags& flags) {
  // Check the flags before opening (and maybe creating) the storage file.
  std::vector<StudyDirection> directions;
  for (const auto& d : flags.directions) directions.push_back(parse_direction(d, "--direction"));
  if (directions.empty()) directions.push_back(StudyDirection::kMinimize);
  auto storage = open_storage(flags.storage);
  try {
    storage->create_study(flags.study_name, directions);
  } catch (const AlreadyExists& e) {
    if (!flags.skip_if_exists) {
      throw AlreadyExists(std::string(e.what()) + " (pass --skip-if-exists to accept it)");
    }
  }
  std::cout << flags.study_name << "\n";
}

void run_list(const StudyFlags& flags) {
  auto summaries = open_storage(flags.storage, OpenMode::kReadOnly)->all_studies();
  if (flags.format == "json") {
    std::cout << dumps(studies_to_json(summaries)) << "\n";
  } else {
    std::cout << studies_table(summaries);
  }
}

void run_show(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage, OpenMode::kReadOnly);
  int64_t id = find_study(*storage, flags);
  auto directions = storage->study_directions(id);
  auto trials = storage->trials(id);
  if (flags.format == "json") {
    std::cout << dumps(study_to_json(flags.study_name, directions, storage->study_user_attrs(id),
                                     trials))
              << "\n";
  } else {
    std::cout << study_trials_text(flags.study_name, directions, trials);
  }
}

void run_delete(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage, OpenMode::kExisting);
  storage->delete_study(find_study(*storage, flags));
  std::cout << "deleted " << flags.study_name << "\n";
}

void run_export(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage, OpenMode::kReadOnly);
  int64_t id = find_study(*storage, flags);
  auto directions = storage->study_directions(id);
  auto trials = storage->trials(id);
  if (flags.format == "csv") {
    write_output(trials_to_csv(trials, directions.size()), flags);
  } else {
    write_output(
        dumps(study_to_json(flags.study_name, directions, storage->study_user_attrs(id), trials)) +
            "\n",
        flags);
  }
}

}  // namespace

void add_study_commands(CLI::App& app) {
  auto flags = std::make_shared<StudyFlags>();
  CLI::App* study = app.add_subcommand("study", "Create, list, show, delete and export studies");
  study->require_subcommand(1);

  CLI::App* create = study->add_subcommand("create", "Create a new study");
  add_storage_flag(*create, *flags);
  add_study_name_flag(*create, *flags);
  create
      ->add_option("--direction,--directions", flags->directions,
                   "minimize or maximize; several for a multi-objective study")
      ->expected(1, -1);
  create->add_flag("--skip-if-exists", flags->skip_if_exists,
                   "Succeed without change if the study exists");
  create->callback([flags] { run_create(*flags); });

  CLI::App* list = study->add_subcommand("list", "List the studies in a storage");
  add_storage_flag(*list, *flags);
  list->add_option("-f,--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  list->callback([flags] { run_list(*flags); });

  CLI::App* show = study->add_subcommand("show", "Show a study and its trials");
  add_storage_flag(*show, *flags);
  add_study_name_flag(*show, *flags);
  show->add_option("-f,--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  show->callback([flags] { run_show(*flags); });

  CLI::App* del = study->add_subcommand("delete", "Delete a study and all its trials");
  add_storage_flag(*del, *flags);
  add_study_name_flag(*del, *flags);
  del->callback([flags] { run_delete(*flags); });

  CLI::App* exp = study->add_subcommand("export", "Export a study's trials as CSV or JSON");
  add_storage_flag(*exp, *flags);
  add_study_name_flag(*exp, *flags);
  exp->add_option("--format", flags->format, "csv or json")
      ->required()
      ->check(CLI::IsMember({"csv", "json"}));
  exp->add_option("-o,--output", flags->output, "File to write (default: stdout)");
  exp->callback([flags] { run_export(*flags); });

  add_study_warm_start_commands(*study);
}

}  // namespace knob::cli
