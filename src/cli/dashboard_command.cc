// knob dashboard: serves the studies of a storage as web pages until Ctrl-C.
#include <iostream>
#include <memory>

#include "commands.h"
#include "knob/core/error.h"
#include "knob/report/dashboard.h"

namespace knob::cli {

void add_dashboard_command(CLI::App& app) {
  auto options = std::make_shared<DashboardOptions>();
  CLI::App* command = app.add_subcommand(
      "dashboard", "Serve a read-only web dashboard of a storage's studies (until Ctrl-C)");
  command->add_option("--storage", options->storage(), "Storage URL, e.g. sqlite:///knob.db")
      ->required();
  command
      ->add_option("--host", options->host(),
                   "Address to listen on; other machines can reach it only if you say so")
      ->capture_default_str();
  command->add_option("--port", options->port(), "Port to listen on (0: any free port)")
      ->capture_default_str();
  command->callback([options] {
    check_storage_exists(options->storage());
    Dashboard dashboard(*options);
    int port = 0;
    try {
      port = dashboard.start();
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("--" + std::string(e.what()));  // "port = 8080: ..." names the flag
    }
    const std::string& host = options->host();
    if (host != "127.0.0.1" && host != "localhost" && host != "::1") {
      std::cerr << "[knob] listening on " << host
                << ": anyone who can reach this address can read the studies (there is no "
                   "login)\n";
    }
    std::cout << "knob dashboard: http://" << host << ":" << port << "/" << std::endl;
    dashboard.wait();
  });
}

}  // namespace knob::cli
