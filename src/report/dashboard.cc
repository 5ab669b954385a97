#include "knob/report/dashboard.h"

#include <httplib.h>

#include <thread>

#include "knob/core/error.h"
#include "knob/report/dashboard_api.h"
#include "knob/report/dashboard_cache.h"
#include "knob/storage/open_storage.h"

namespace knob {

struct Dashboard::Impl {
  DashboardOptions options;
  std::unique_ptr<DashboardCache> cache;  // shared by the server's threads (it locks)
  httplib::Server server;
  std::thread thread;
};

Dashboard::Dashboard(const DashboardOptions& options) : impl_(std::make_unique<Impl>()) {
  KNOB_CHECK(options.port() >= 0 && options.port() <= 65535, "port", options.port(),
             "must be in 0..65535 (0: any free port)");
  KNOB_CHECK(!options.host().empty(), "host", options.host(), "must be an address, e.g. 127.0.0.1");
  impl_->options = options;
  impl_->cache = std::make_unique<DashboardCache>(open_storage(options.storage()));
  DashboardCache& cache = *impl_->cache;
  // One handler for every GET: handle_dashboard_get answers from a fixed table of routes and
  // embedded assets, so no request path ever names a file. Other methods get httplib's 404.
  impl_->server.Get(".*", [&cache](const httplib::Request& request, httplib::Response& response) {
    HttpResponse answer = handle_dashboard_get(cache, request.path, request.params);
    // Sent uncompressed: httplib compresses what the browser accepts after this handler, and
    // Chromium accepts brotli, which httplib runs at its slowest level — 2.9 s for a 0.6 MB
    // study here (bench/dashboard), against milliseconds to send the bytes over loopback. The
    // request object is httplib's own, not const; it reads the header after we return.
    const_cast<httplib::Request&>(request).headers.erase("Accept-Encoding");
    response.status = answer.status;
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Cache-Control", "no-store");
    // Defense in depth against injected markup: only this server's own script and styles run.
    response.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                        "base-uri 'none'; frame-ancestors 'none'; form-action 'none'");
    response.set_content(answer.body, answer.content_type.c_str());
  });
  impl_->server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        response.status = 500;
        response.set_content(R"({"error": "internal error"})", "application/json");
      });
}

Dashboard::~Dashboard() { stop(); }

int Dashboard::start() {
  const DashboardOptions& o = impl_->options;
  int port = o.port();
  if (port == 0) {
    port = impl_->server.bind_to_any_port(o.host());
  } else if (!impl_->server.bind_to_port(o.host(), port)) {
    port = -1;
  }
  if (port < 0) {
    throw Error("cannot listen on " + o.host() + ":" + std::to_string(o.port()) +
                " (port in use, or not an address of this machine)");
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return port;
}

void Dashboard::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Dashboard::stop() {
  impl_->server.stop();
  wait();
}

}  // namespace knob
