// A task's HTTP endpoints (cpp-httplib), for Kubernetes probes and Prometheus:
//   GET /metrics  TaskMetrics::prometheus_text()
//   GET /healthz  200 "ok" while the process serves requests (liveness)
//   GET /readyz   200 "ready" once the task has joined the cluster, else 503 with its phase (readiness)
// The server runs on its own threads from start() until the object is destroyed.
#pragma once

#include <memory>
#include <string>

#include "cluster/task_metrics.h"

namespace podlab {

class TaskHttpServer {
 public:
  // Listens on `host`:`port` (port 0: any free port; see port()). kNetwork error when it cannot bind.
  // `metrics` must outlive the server.
  static Result<std::unique_ptr<TaskHttpServer>> start(const TaskMetrics& metrics, const std::string& host, int port);
  ~TaskHttpServer();
  int port() const;

 private:
  struct Impl;
  explicit TaskHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace podlab
