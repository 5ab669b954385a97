// The knob side of tests/postgres/schema_and_interop.py, through knob::storage only:
//   pg_study_tool write URL STUDY         a study with trials of every state and kind of data
//   pg_study_tool dump URL STUDY          the study's trials as knob reads them (JSON, stdout)
//   pg_study_tool continue URL STUDY N    N more COMPLETE trials with the study's first param
//   pg_study_tool revision URL            the database's schema revision as knob opens it
//   pg_study_tool upgrade URL             knob::upgrade_schema's message (knob storage upgrade)
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"
#include "knob/storage/rdb_storage.h"
#include "knob/storage/schema_revision.h"

using namespace knob;

namespace {

Json number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

void write(Storage& storage, const std::string& name) {
  int64_t study = storage.create_study(name, {StudyDirection::kMinimize});
  storage.set_study_user_attr(study, "owner", "knob");
  storage.set_study_system_attr(study, "note", Json::array({1, 2.5, "x"}));
  const FloatDistribution lr(1e-5, 1.0, true);
  const IntDistribution layers(1, 8);
  const CategoricalDistribution optimizer({std::string("adam"), std::string("sgd")});
  const double values[] = {0.25, HUGE_VAL, -HUGE_VAL, 1.0 / 3.0};
  for (int i = 0; i < 6; ++i) {
    int64_t id = storage.create_trial(study);
    storage.set_trial_param(id, "lr", std::pow(10.0, -1.0 - i * 0.37), lr);
    storage.set_trial_param(id, "layers", 1 + i, layers);
    storage.set_trial_param(id, "optimizer", i % 2, optimizer);
    storage.set_trial_intermediate_values(
        id, {{0, 1.0 + i}, {1, i == 2 ? std::nan("") : 0.5 * i}, {2, i == 3 ? HUGE_VAL : 0.1}});
    storage.set_trial_user_attr(id, "i", i);
    storage.set_trial_system_attr(id, "tag", "t" + std::to_string(i));
    if (i < 4) {
      storage.set_trial_state_values(id, TrialState::kComplete, {values[i]});
    } else if (i == 4) {
      storage.set_trial_state_values(id, TrialState::kPruned);
    } else {
      storage.set_trial_state_values(id, TrialState::kFail);
    }
  }
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  waiting.internal_params["layers"] = 3;
  waiting.distributions.emplace("layers", layers);
  storage.create_trial(study, &waiting);
  storage.create_trial(study);  // left RUNNING
}

void dump(Storage& storage, const std::string& name) {
  Json out = Json::array();
  for (const auto& t : storage.trials(storage.study_id_from_name(name))) {
    Json trial = {{"number", t.number}, {"state", to_string(t.state)}};
    Json values = Json::array();
    for (double v : t.values) values.push_back(number(v));
    trial["values"] = values;
    Json params = Json::object();
    for (const auto& [key, value] : t.internal_params) {
      params[key] = {number(value), distribution_to_json(t.distributions.at(key))};
    }
    trial["params"] = params;
    Json steps = Json::object();
    for (const auto& [step, value] : t.intermediate_values) {
      steps[std::to_string(step)] = number(value);
    }
    trial["intermediate_values"] = steps;
    trial["user_attrs"] = Json(t.user_attrs);
    trial["system_attrs"] = Json(t.system_attrs);
    out.push_back(trial);
  }
  std::cout << out.dump() << "\n";
}

void continue_study(Storage& storage, const std::string& name, int n) {
  int64_t study = storage.study_id_from_name(name);
  FrozenTrial first = storage.trials(study).at(0);
  const auto& [param, distribution] = *first.distributions.begin();
  for (int i = 0; i < n; ++i) {
    int64_t id = storage.create_trial(study);
    storage.set_trial_param(id, param, first.internal_params.at(param), distribution);
    storage.set_trial_state_values(id, TrialState::kComplete, {100.0 + i});
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  const bool whole_database = command == "revision" || command == "upgrade";
  if (argc < (whole_database ? 3 : 4) || (command == "continue" && argc < 5)) {
    std::cerr << "usage: pg_study_tool write|dump|continue URL STUDY [N] | revision|upgrade URL\n";
    return 2;
  }
  try {
    if (command == "upgrade") {
      std::cout << upgrade_schema(argv[2]).message << "\n";
      return 0;
    }
    auto storage = open_storage(argv[2]);
    if (command == "revision") {
      std::cout << schema_revision_name(dynamic_cast<RdbStorage&>(*storage).schema_revision())
                << "\n";
      return 0;
    }
    if (command == "write") {
      write(*storage, argv[3]);
    } else if (command == "dump") {
      dump(*storage, argv[3]);
    } else if (command == "continue") {
      continue_study(*storage, argv[3], std::stoi(argv[4]));
    } else {
      std::cerr << "unknown command " << command << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "pg_study_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
