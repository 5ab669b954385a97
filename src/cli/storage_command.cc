// knob storage upgrade --storage URL: brings an Optuna/knob study database from schema revision
// v3.0.0.d (Optuna 3.0-3.1) to v3.2.0.a (Optuna 3.2 and later), as `optuna storage upgrade`
// does (knob::upgrade_schema, knob/storage/schema_revision.h).
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "knob/storage/schema_revision.h"

namespace knob::cli {

void add_storage_command(CLI::App& app) {
  CLI::App* storage = app.add_subcommand("storage", "Maintain a study database");
  storage->require_subcommand(1);
  auto url = std::make_shared<std::string>();
  CLI::App* upgrade = storage->add_subcommand(
      "upgrade",
      "Upgrade a database from schema revision v3.0.0.d (Optuna 3.0-3.1) to v3.2.0.a (Optuna "
      "3.2 and later), as `optuna storage upgrade` does; a current one is left as it is");
  upgrade->add_option("--storage", *url, "Storage URL, e.g. sqlite:///knob.db")->required();
  upgrade->callback([url] { std::cout << upgrade_schema(*url).message << "\n"; });
}

}  // namespace knob::cli
