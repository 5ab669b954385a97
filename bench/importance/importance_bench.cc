// Times knob::param_importances on the trials of a JSON file written by run.py:
//   {"space": [{"name", "distribution": Optuna's distribution JSON}],
//    "trials": [{"params": [internal value per space entry], "value": v}]}
// and prints one JSON line per evaluator: {"evaluator", "seconds", "importances": {name: x}}.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "knob/core/json.h"
#include "knob/tuner/importance/importance.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: importance_bench TRIALS.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  const knob::Json data = knob::loads(text.str(), argv[1]);
  std::vector<std::pair<std::string, knob::Distribution>> space;
  for (const auto& p : data["space"]) {
    space.emplace_back(p["name"].get<std::string>(),
                       knob::json_to_distribution(p["distribution"].dump()));
  }
  std::vector<knob::FrozenTrial> trials;
  for (const auto& row : data["trials"]) {
    knob::FrozenTrial t;
    t.number = static_cast<int64_t>(trials.size());
    t.state = knob::TrialState::kComplete;
    for (size_t i = 0; i < space.size(); ++i) {
      t.distributions.emplace(space[i].first, space[i].second);
      t.internal_params[space[i].first] = row["params"][i].get<double>();
    }
    t.values = {row["value"].get<double>()};
    trials.push_back(std::move(t));
  }
  for (auto evaluator :
       {knob::ImportanceEvaluator::kFanova, knob::ImportanceEvaluator::kMeanDecreaseImpurity}) {
    const auto start = std::chrono::steady_clock::now();
    auto result =
        knob::param_importances(trials, knob::ImportanceOptions().evaluator(evaluator).seed(0));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    knob::Json importances = knob::Json::object();
    for (const auto& [name, value] : result) importances[name] = value;
    std::cout << knob::dumps({{"evaluator", knob::importance_evaluator_name(evaluator)},
                              {"seconds", seconds},
                              {"importances", importances}})
              << "\n";
  }
}
