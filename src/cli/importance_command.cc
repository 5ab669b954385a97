// knob importance: the parameter importances of a study (knob/tuner/importance/importance.h) as a
// table or JSON, like optuna.importance.get_param_importances. Read-only.
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/core/json.h"
#include "knob/report/text_table.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/importance/importance.h"

namespace knob::cli {
namespace {

struct ImportanceFlags {
  std::string storage;
  std::string study_name;
  std::string evaluator = "fanova";
  std::vector<std::string> params;
  std::optional<int> objective;
  int64_t seed = 0;
  bool json = false;
};

ImportanceEvaluator parse_evaluator(const std::string& text) {
  for (auto e : {ImportanceEvaluator::kFanova, ImportanceEvaluator::kMeanDecreaseImpurity}) {
    if (text == importance_evaluator_name(e)) return e;
  }
  throw_invalid("--evaluator", text, "must be fanova or mean_decrease_impurity");
}

void run_importance(const ImportanceFlags& flags) {
  KNOB_CHECK(flags.seed >= 0, "--seed", flags.seed, "must be an integer >= 0");
  auto options = ImportanceOptions()
                     .evaluator(parse_evaluator(flags.evaluator))
                     .params(flags.params)
                     .objective(flags.objective)
                     .seed(static_cast<uint64_t>(flags.seed));
  check_storage_exists(flags.storage);
  auto storage = open_storage(flags.storage, OpenMode::kReadOnly);
  int64_t study_id = -1;
  try {
    study_id = storage->study_id_from_name(flags.study_name);
  } catch (const NotFound&) {
    throw NotFound(detail::invalid_message("--study-name", flags.study_name,
                                           "no such study in " + flags.storage));
  }
  std::vector<std::pair<std::string, double>> importances;
  try {
    importances = param_importances(storage->trials(study_id), options);
  } catch (const InvalidArgument& e) {  // its fields (objective, params) are the flags' names
    throw InvalidArgument(std::string(e.what()) + " (study '" + flags.study_name + "')");
  }
  if (flags.json) {
    Json rows = Json::array();
    for (const auto& [name, importance] : importances) {
      rows.push_back({{"name", name}, {"importance", importance}});
    }
    std::cout << dumps(Json{{"study", flags.study_name},
                            {"evaluator", flags.evaluator},
                            {"importances", std::move(rows)}})
              << "\n";
    return;
  }
  TextTable table({"param", "importance"});
  for (const auto& [name, importance] : importances) {
    table.add_row({name, dumps(Json(importance))});
  }
  table.print(std::cout);
}

}  // namespace

void add_importance_command(CLI::App& app) {
  auto flags = std::make_shared<ImportanceFlags>();
  CLI::App* command = app.add_subcommand(
      "importance", "Parameter importances of a study's COMPLETE trials (fANOVA by default)");
  command->add_option("--storage", flags->storage, "Storage URL, e.g. sqlite:///knob.db")
      ->required();
  command->add_option("--study-name,--study", flags->study_name, "Name of the study")->required();
  command->add_option("--evaluator", flags->evaluator, "fanova or mean_decrease_impurity")
      ->capture_default_str();
  command->add_option("--params", flags->params,
                      "Parameters to assess (default: those every COMPLETE trial has)");
  command->add_option("--objective", flags->objective,
                      "Index of the objective to explain (required if there are several)");
  command->add_option("--seed", flags->seed, "Seed of the random forest")->capture_default_str();
  command->add_flag("--json", flags->json, "Print JSON instead of a table");
  command->callback([flags] { run_importance(*flags); });
}

}  // namespace knob::cli
