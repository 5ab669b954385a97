#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/report/export.h"
#include "knob/storage/open_storage.h"
#include "table.h"

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

std::string directions_text(const std::vector<StudyDirection>& directions) {
  std::string out;
  for (auto d : directions) out += (out.empty() ? "" : ",") + to_string(d);
  return out;
}

std::string value_text(double x) { return dumps(Json(x)); }

void write_output(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (!out) throw_invalid("--output", path, "must be a writable file path");
  out << text;
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
  auto summaries = open_storage(flags.storage)->all_studies();
  if (flags.format == "json") {
    Json out = Json::array();
    for (const auto& s : summaries) {
      Json counts = Json::object();
      for (auto [state, n] : s.trial_counts) counts[to_string(state)] = n;
      Json item = Json::object();
      item["study_name"] = s.study_name;
      item["directions"] = directions_text(s.directions);
      item["n_trials"] = s.n_trials();
      item["trial_counts"] = std::move(counts);
      item["best_value"] = s.best_trial ? Json(s.best_trial->values[0]) : Json(nullptr);
      item["datetime_start"] =
          s.datetime_start ? Json(format_datetime(*s.datetime_start)) : Json(nullptr);
      out.push_back(std::move(item));
    }
    std::cout << dumps(out) << "\n";
    return;
  }
  Table table({"name", "direction", "trials", "complete", "pruned", "fail", "running", "waiting",
               "best", "started"});
  for (const auto& s : summaries) {
    auto count = [&](TrialState state) {
      auto it = s.trial_counts.find(state);
      return std::to_string(it == s.trial_counts.end() ? 0 : it->second);
    };
    table.add_row({s.study_name, directions_text(s.directions), std::to_string(s.n_trials()),
                   count(TrialState::kComplete), count(TrialState::kPruned),
                   count(TrialState::kFail), count(TrialState::kRunning),
                   count(TrialState::kWaiting),
                   s.best_trial ? value_text(s.best_trial->values[0]) : "-",
                   s.datetime_start ? format_datetime(*s.datetime_start).substr(0, 19) : "-"});
  }
  table.print(std::cout);
}

void run_show(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage);
  int64_t id = find_study(*storage, flags);
  auto directions = storage->study_directions(id);
  auto trials = storage->trials(id);
  if (flags.format == "json") {
    std::cout << dumps(study_to_json(flags.study_name, directions, storage->study_user_attrs(id),
                                     trials))
              << "\n";
    return;
  }
  StudySummary summary;
  summary.directions = directions;
  summarize_trials(trials, summary);
  std::cout << "study " << flags.study_name << " (" << directions_text(directions) << "), "
            << trials.size() << " trials";
  if (summary.best_trial) {
    std::cout << "; best: trial " << summary.best_trial->number << " with value "
              << value_text(summary.best_trial->values[0]);
  }
  std::cout << "\n\n";
  Table table({"number", "state", "values", "params", "duration_s", "note"});
  for (const auto& t : trials) {
    std::string values, params, note;
    for (double v : t.values) values += (values.empty() ? "" : ", ") + value_text(v);
    for (const auto& [name, v] : t.params()) {
      params += (params.empty() ? "" : ", ") + name + "=" + to_string(v);
    }
    auto reason = t.system_attrs.find("fail_reason");
    if (reason != t.system_attrs.end() && reason->second.is_string()) note = reason->second;
    auto duration = t.duration_seconds();
    char seconds[32] = "-";
    if (duration) std::snprintf(seconds, sizeof seconds, "%.3f", *duration);
    table.add_row({std::to_string(t.number), to_string(t.state), values, params, seconds, note});
  }
  table.print(std::cout);
}

void run_delete(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage);
  storage->delete_study(find_study(*storage, flags));
  std::cout << "deleted " << flags.study_name << "\n";
}

void run_export(const StudyFlags& flags) {
  auto storage = open_storage(flags.storage);
  int64_t id = find_study(*storage, flags);
  auto directions = storage->study_directions(id);
  auto trials = storage->trials(id);
  if (flags.format == "csv") {
    write_output(trials_to_csv(trials, directions.size()), flags.output);
  } else {
    write_output(
        dumps(study_to_json(flags.study_name, directions, storage->study_user_attrs(id), trials)) +
            "\n",
        flags.output);
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
}

}  // namespace knob::cli
