// `podlab k8s status` reads what the pods serve: the metrics parser against TaskMetrics' own text,
// and kubectl's JSON with missing or wrong fields.
#include <catch2/catch.hpp>

#include "cluster/k8s_status.h"
#include "cluster/task_metrics.h"

using namespace podlab;

TEST_CASE("k8s status reads the progress a task's /metrics serves", "[k8s]") {
  TaskMetrics m({Role::kWorker, 0});
  m.set_phase("training");
  m.set_total_steps(600);
  TaskProgress p;
  p.step = 120;
  p.loss = 0.25;
  m.board()->publish({Role::kWorker, 0}, p);
  ClusterEpochReport e;
  e.epoch = 2;
  e.test.accuracy = 0.875;
  m.record_epoch(e);
  const K8sTaskProgress q = parse_task_metrics(m.prometheus_text());
  CHECK(q.task_phase == "training");
  CHECK(q.step == 120);
  CHECK(q.total_steps == 600);
  CHECK(q.train_loss == 0.25);
  CHECK(q.test_accuracy == 0.875);
  CHECK(q.epochs == 2);
  const K8sTaskProgress none = parse_task_metrics("garbage\n{}\n");
  CHECK(none.step == -1);
  CHECK(none.task_phase.empty());
}

TEST_CASE("k8s status rejects what is not kubectl's list JSON", "[k8s]") {
  CHECK(!parse_k8s_pods("not json").ok());
  CHECK(parse_k8s_pods("{\"kind\": \"Pod\"}").status().code() == StatusCode::kData);
  auto empty = parse_k8s_jobs("{\"items\": []}");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  auto sparse = parse_k8s_pods(R"({"items": [{"metadata": {"name": "p"}, "status": {"containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}]})");
  REQUIRE(sparse.ok());
  CHECK((*sparse)[0].reason == "ImagePullBackOff");
  CHECK(k8s_status_table({}, *sparse, {}).find("ImagePullBackOff") != std::string::npos);
}
