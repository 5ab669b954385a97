// knob study copy|add-trials|enqueue: warm starts (knob/run/warm_start.h) — a copy of a study,
// finished trials from a file or another study, fixed parameters to run first.
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/run/warm_start.h"

namespace knob::cli {

void add_study_warm_start_commands(CLI::App& study) {
  auto copy = std::make_shared<run::CopyOptions>();
  CLI::App* c =
      study.add_subcommand("copy", "Copy a study and its finished trials (Optuna's copy_study)");
  c->add_option("--from-storage", copy->from_storage(), "Storage URL of the study to copy")
      ->required();
  c->add_option("--from-study", copy->from_study(), "Name of the study to copy")->required();
  c->add_option("--to-storage", copy->to_storage(),
                "Storage URL of the copy (default: --from-storage)");
  c->add_option("--to-study", copy->to_study(),
                "Name of the copy, a new study (default: --from-study)");
  c->callback([copy] {
    CopyStudyResult r = run::copy(*copy);
    std::cout << "copied " << r.n_copied << " trials to "
              << (copy->to_study().empty() ? copy->from_study() : copy->to_study()) << "\n";
    if (r.n_unfinished_skipped > 0) {
      std::cerr << "[knob] " << r.n_unfinished_skipped
                << " RUNNING or WAITING trials were not copied\n";
    }
  });

  auto add = std::make_shared<run::AddTrialsOptions>();
  CLI::App* a = study.add_subcommand(
      "add-trials",
      "Add finished trials from a CSV/JSON file or another study (Optuna's add_trials)");
  a->add_option("--storage", add->storage(), "Storage URL, e.g. sqlite:///knob.db")->required();
  a->add_option("--study-name,--study", add->study_name(), "The study to add to")->required();
  a->add_option("--from", add->from(), "FILE.csv or FILE.json, as `knob study export` writes");
  a->add_option("--from-storage", add->from_storage(),
                "Storage URL of --from-study (default: --storage)");
  a->add_option("--from-study", add->from_study(), "A study whose finished trials to add");
  a->add_option("--search-space", add->search_space(),
                "For a CSV: JSON of name -> Optuna distribution for parameters the study lacks");
  a->callback([add] {
    run::AddTrialsResult r = run::add_trials(*add);
    std::cout << "added " << r.n_added << " trials to " << add->study_name() << "\n";
    if (r.n_unfinished_skipped > 0) {
      std::cerr << "[knob] " << r.n_unfinished_skipped
                << " RUNNING or WAITING trials were not added (finished trials only)\n";
    }
  });

  auto enqueue = std::make_shared<run::EnqueueOptions>();
  CLI::App* e = study.add_subcommand("enqueue", "Enqueue a trial of fixed parameters, run next");
  e->add_option("--storage", enqueue->storage(), "Storage URL, e.g. sqlite:///knob.db")->required();
  e->add_option("--study-name,--study", enqueue->study_name(), "Name of the study")->required();
  e->add_option("--params", enqueue->params(),
                "JSON object, e.g. '{\"lr\": 0.001, \"batch_size\": 32}'")
      ->required();
  e->add_option("--user-attrs", enqueue->user_attrs(), "JSON object of the trial's user attrs");
  e->add_flag("--skip-if-exists", enqueue->skip_if_exists(),
              "Enqueue nothing if a trial already has these parameters");
  e->callback([enqueue] {
    const bool added = run::enqueue(*enqueue);
    std::cout << (added ? "enqueued " : "not enqueued (a trial has these parameters): ")
              << enqueue->params() << "\n";
  });
}

}  // namespace knob::cli
