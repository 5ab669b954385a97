// knob: tune learning rate, batch size and epochs. Thin: parses, wires, maps errors to exit
// codes — 0 ok, 1 a run that failed (training diverged, an unexpected error), 2 bad usage or
// bad input, 130 interrupted by Ctrl-C (SIGINT) or SIGTERM.
#include <iostream>

#include "commands.h"
#include "knob/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"knob — find the learning rate, batch size and epochs that make a model train well"};
  app.set_version_flag("--version", std::string("knob ") + KNOB_VERSION);
  app.require_subcommand(1);
  knob::cli::add_study_commands(app);
  knob::cli::add_tune_command(app);
  knob::cli::add_worker_command(app);
  knob::cli::add_train_command(app);
  knob::cli::add_lr_find_command(app);
  knob::cli::add_batch_find_command(app);
  knob::cli::add_pbt_command(app);
  knob::cli::add_dashboard_command(app);
  knob::cli::add_report_command(app);
  knob::cli::add_importance_command(app);
  knob::cli::add_storage_command(app);
  knob::cli::add_plot_command(app);
  knob::cli::add_ask_command(app);
  knob::cli::add_tell_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const knob::cli::ExitRequest& e) {
    std::cerr << "knob: " << e.message << "\n";
    return e.code;
  } catch (const knob::TrainingDiverged& e) {
    std::cerr << "knob: " << e.what() << "\n";
    return 1;
  } catch (const knob::Error& e) {
    // Bad input of any kind — a flag, a config field, a study name, a storage URL or file.
    std::cerr << "knob: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "knob: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
