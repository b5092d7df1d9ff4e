// The task's HTTP endpoints on cpp-httplib (see task_http.h). httplib stays private to this file.
#include "cluster/task_http.h"

// After Eigen (via task_http.h): httplib pulls in <resolv.h>, whose `_res` macro breaks Eigen's headers.
#include <httplib.h>

#include <chrono>
#include <thread>

namespace podlab {

struct TaskHttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

Result<std::unique_ptr<TaskHttpServer>> TaskHttpServer::start(const TaskMetrics& metrics, const std::string& host, int port) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& s = impl->server;
  const TaskMetrics* m = &metrics;
  s.Get("/metrics", [m](const httplib::Request&, httplib::Response& res) {
    res.set_content(m->prometheus_text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/readyz", [m](const httplib::Request&, httplib::Response& res) {
    if (m->ready()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + m->phase() + "\n", "text/plain");
    }
  });
  // httplib's default also sets SO_REUSEPORT, which lets a second process share a port in use
  // silently; keep SO_REUSEADDR only, so a busy port is an error.
  s.set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_keep_alive_max_count(10);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  if (port == 0) {
    impl->port = s.bind_to_any_port(host);
    if (impl->port <= 0) return Status::Network("cannot listen for HTTP on " + host + " (any port)");
  } else {
    if (!s.bind_to_port(host, port))
      return Status::Network("cannot listen for HTTP on " + host + ":" + std::to_string(port) +
                             " (port in use? pick another with --metrics-port)");
    impl->port = port;
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  return std::unique_ptr<TaskHttpServer>(new TaskHttpServer(std::move(impl)));
}

TaskHttpServer::TaskHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TaskHttpServer::~TaskHttpServer() {
  // stop() only acts on a running server: give a just-started listen thread time to get there.
  for (int i = 0; i < 500 && !impl_->server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int TaskHttpServer::port() const { return impl_->port; }

}  // namespace podlab
