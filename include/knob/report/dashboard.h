// The dashboard: an HTTP server (cpp-httplib) over a storage, serving the pages and JSON of
// dashboard_api.h. Read-only — there are no write endpoints — and every asset comes from the
// binary. It listens on 127.0.0.1 unless `host` says otherwise. start() serves on background
// threads; stop() (or the destructor) ends it. The storage is opened once and shared by the
// server's threads (storages are thread-safe), through one DashboardCache (dashboard_cache.h):
// a request reads only what changed in the storage since the last. From start() on, the cache
// reads every study on a thread of its own and refreshes them every second, so the first open
// of a study page does not read the study on its request.
//
// Example:
//   knob::Dashboard dashboard(knob::DashboardOptions().storage("sqlite:///knob.db").port(0));
//   int port = dashboard.start();  // 0 above: any free port
//   std::cout << "http://127.0.0.1:" << port << "/\n";
//   dashboard.wait();              // until stop() from another thread
#pragma once

#include <memory>
#include <string>

#include "knob/core/arg.h"

namespace knob {

struct DashboardOptions {
  KNOB_ARG(std::string, storage) = "";
  KNOB_ARG(std::string, host) = "127.0.0.1";
  // 0..65535; 0 takes any free port (see Dashboard::start).
  KNOB_ARG(int, port) = 8080;
};

class Dashboard {
 public:
  // Opens the storage. Throws InvalidArgument for a bad port or storage URL.
  explicit Dashboard(const DashboardOptions& options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Binds and starts serving; returns the port. Throws InvalidArgument naming the port and
  // host:port if it cannot bind (in use — also by another dashboard: the port is not shared —
  // or not an address of this machine). Each open connection is served by its own thread (up
  // to 256) and closed after 2 s idle, so idle keep-alive sockets cannot hold up requests.
  int start();
  // Blocks until the server stops (call it from one thread; stop() from another).
  void wait();
  // Stops serving and joins the server thread; safe to call more than once.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace knob
