#include "knob/report/dashboard.h"

#include <httplib.h>

#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "knob/core/error.h"
#include "knob/report/dashboard_api.h"
#include "knob/report/dashboard_cache.h"
#include "knob/storage/open_storage.h"

namespace knob {
namespace {

// How long a kept-alive connection may sit idle between requests, and how many requests it
// may carry, before the server closes it. Browsers reconnect at no cost on loopback.
constexpr time_t kKeepAliveSeconds = 2;
constexpr size_t kKeepAliveRequests = 100;
// At most this many connections are served at once; more wait their turn.
constexpr size_t kMaxConnectionThreads = 256;
// Seconds between two refreshes of the cache off the request path (DashboardCache::
// start_refreshing): every study is read when the server starts, then only what changed.
constexpr double kRefreshSeconds = 1.0;

// httplib serves each connection on one task queue thread for as long as it stays open, so
// a fixed pool of 8 lets 8 idle keep-alive sockets stall every other request. This queue
// starts a thread whenever no idle one is left to take a new connection, up to a bound, and
// keeps them (idle) until the server stops.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t max_threads) : max_threads_(max_threads) {}
  ~ConnectionThreads() override = default;

  void enqueue(std::function<void()> job) override {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
    if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { work(); });
    } else {
      ready_.notify_one();
    }
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();  // enqueue is not called after shutdown
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ++idle_;
      ready_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) return;  // shut down with nothing left to serve
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace

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
  impl_->cache =
      std::make_unique<DashboardCache>(open_storage(options.storage(), OpenMode::kReadOnly));
  DashboardCache& cache = *impl_->cache;
  httplib::Server& server = impl_->server;
  // httplib's default socket options set SO_REUSEPORT, which lets a second server bind the
  // same port and share its connections; SO_REUSEADDR alone only allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.new_task_queue = [] { return new ConnectionThreads(kMaxConnectionThreads); };
  server.set_keep_alive_timeout(kKeepAliveSeconds);
  server.set_keep_alive_max_count(kKeepAliveRequests);
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
    throw InvalidArgument("port = " + std::to_string(o.port()) + ": cannot listen on " + o.host() +
                          ":" + std::to_string(o.port()) +
                          " (the port is in use, e.g. by another dashboard, or the host is not "
                          "an address of this machine); choose another port, or 0 for any "
                          "free port");
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // The first page open finds its study read (or being read) rather than starting the read.
  impl_->cache->start_refreshing(kRefreshSeconds);
  return port;
}

void Dashboard::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Dashboard::stop() {
  impl_->server.stop();
  wait();
  impl_->cache->stop_refreshing();
}

}  // namespace knob
