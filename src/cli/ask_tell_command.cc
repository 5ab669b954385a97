// knob ask / knob tell: Optuna CLI's ask and tell (knob/run/ask_tell.h) — one trial per call,
// for shell loops and scheduler array jobs.
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/run/ask_tell.h"

namespace knob::cli {
namespace {

struct AskFlags {
  run::AskOptions options;
  std::string format = "json";
  bool flatten = false;
};

void add_study_flags(CLI::App& command, std::string& storage, std::string& study_name) {
  command.add_option("--storage", storage, "Storage URL, e.g. sqlite:///knob.db")->required();
  command.add_option("--study-name,--study", study_name, "Name of an existing study")->required();
}

}  // namespace

void add_ask_command(CLI::App& app) {
  auto flags = std::make_shared<AskFlags>();
  auto& o = flags->options;
  CLI::App* ask = app.add_subcommand("ask",
                                     "Start a trial and print its parameters (as `optuna ask`): "
                                     "{\"number\": N, \"params\": {...}}");
  add_study_flags(*ask, o.storage(), o.study_name());
  ask->add_option("--sampler", o.sampler(), "random, tpe, qmc, gp or cmaes (default random)");
  ask->add_option("--sampler-kwargs", o.sampler_kwargs(),
                  "The sampler's options as JSON, e.g. '{\"seed\": 1, \"n_startup_trials\": 5}'");
  ask->add_option("--search-space", o.search_space(),
                  "JSON object: parameter name -> Optuna distribution JSON");
  ask->add_option("-f,--format", flags->format, "json (default), yaml, table or value");
  ask->add_flag("--flatten", flags->flatten, "params_<name> columns instead of a params object");
  ask->callback([flags] {
    // The format is checked before the trial is created.
    run::format_asked(run::AskedTrial{}, flags->format, flags->flatten);
    std::cout << run::format_asked(run::ask(flags->options), flags->format, flags->flatten);
  });
}

void add_tell_command(CLI::App& app) {
  auto o = std::make_shared<run::TellOptions>();
  auto number = std::make_shared<int64_t>(-1);
  CLI::App* tell =
      app.add_subcommand("tell", "Finish a trial `knob ask` (or `optuna ask`) started");
  add_study_flags(*tell, o->storage(), o->study_name());
  tell->add_option("--trial-number", *number, "The trial's number")->required();
  tell->add_option("--values", o->values(), "Objective values, one per direction")->expected(1, -1);
  tell->add_option("--state", o->state(), "complete (default with --values), pruned or fail");
  tell->add_flag("--skip-if-finished", o->skip_if_finished(),
                 "Succeed without change if the trial has already finished");
  tell->callback([o, number] {
    o->trial_number(*number);
    run::ToldTrial told = run::tell(*o);
    std::cerr << "[knob] trial " << told.trial.number
              << (told.skipped ? " had already finished as " : " finished as ")
              << to_string(told.trial.state) << "\n";
  });
}

}  // namespace knob::cli
