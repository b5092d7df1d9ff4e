// A task's HTTP endpoints on 127.0.0.1: probes and the Prometheus text format.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>

#include "cluster/task_http.h"
// After Eigen (via task_http.h): httplib pulls in <resolv.h>, whose `_res` macro breaks Eigen's headers.
#include <httplib.h>

using namespace podlab;

TEST_CASE("a task serves /healthz, /readyz and Prometheus /metrics on 127.0.0.1", "[k8s][pod]") {
  TaskMetrics metrics({Role::kWorker, 0});
  auto server = TaskHttpServer::start(metrics, "127.0.0.1", 0);
  REQUIRE(server.ok());
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);

  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto not_ready = client.Get("/readyz");
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  CHECK(not_ready->body.find("starting") != std::string::npos);

  metrics.set_phase("training");
  metrics.set_ready(true);
  metrics.set_total_steps(600);
  TaskProgress p;
  p.name = "worker:0";
  p.step = 42;
  p.pushes = 40;
  p.loss = 0.5;
  metrics.board()->publish({Role::kWorker, 0}, p);
  ClusterEpochReport e;
  e.epoch = 1;
  e.test.accuracy = 0.8125;
  metrics.record_epoch(e);
  auto ready = client.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  auto m = client.Get("/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->get_header_value("Content-Type").find("text/plain; version=0.0.4") == 0);
  const std::string& body = m->body;
  CHECK(body.find("podlab_step{task=\"worker:0\"} 42\n") != std::string::npos);
  CHECK(body.find("podlab_total_steps{task=\"worker:0\"} 600\n") != std::string::npos);
  CHECK(body.find("podlab_test_accuracy{task=\"worker:0\"} 0.8125\n") != std::string::npos);
  CHECK(body.find("phase=\"training\"") != std::string::npos);
  // Every line is a comment (# HELP / # TYPE) or `name{labels} value`.
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*",?)*\} -?[0-9][0-9.e+-]*$)");
  std::istringstream lines(body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    CHECK(std::regex_match(line, sample));
    ++samples;
  }
  CHECK(samples >= 10);
  CHECK(client.Get("/nope")->status == 404);
}

TEST_CASE("a busy metrics port is a clear network error", "[k8s][pod]") {
  TaskMetrics metrics({Role::kPs, 0});
  auto first = TaskHttpServer::start(metrics, "127.0.0.1", 0);
  REQUIRE(first.ok());
  auto second = TaskHttpServer::start(metrics, "127.0.0.1", (*first)->port());
  REQUIRE(!second.ok());
  CHECK(second.status().code() == StatusCode::kNetwork);
  CHECK(second.status().message().find("--metrics-port") != std::string::npos);
}
