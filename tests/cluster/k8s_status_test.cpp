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

TEST_CASE("k8s status --watch ends with the run's outcome", "[k8s]") {
  auto job = [](const char* name, const char* state) {
    K8sJobRow j;
    j.name = name;
    j.state = state;
    return j;
  };
  auto pod = [](const char* name, const char* role, const char* index, const char* code) {
    K8sPodRow p;
    p.name = name;
    p.role = role;
    p.index = index;
    p.exit_code = code;
    return p;
  };
  CHECK_FALSE(k8s_run_outcome({}, {}).over);  // nothing applied yet
  CHECK_FALSE(k8s_run_outcome({job("r-ps", "Running"), job("r-worker", "Running")}, {}).over);
  CHECK_FALSE(k8s_run_outcome({job("r-ps", "Complete"), job("r-worker", "Running")}, {}).over);

  const K8sRunOutcome done = k8s_run_outcome({job("r-ps", "Complete"), job("r-worker", "Complete")}, {});
  CHECK(done.over);
  CHECK(done.code == 0);

  // The chief's documented code wins over another pod's; 137 (killed) is not one of podlab's.
  const std::vector<K8sPodRow> pods = {pod("r-worker-1-a", "worker", "1", "6"), pod("r-worker-0-b", "worker", "0", "4"),
                                       pod("r-ps-0-c", "ps", "0", "137")};
  const K8sRunOutcome failed = k8s_run_outcome({job("r-ps", "Running"), job("r-worker", "Failed")}, pods);
  CHECK(failed.over);
  CHECK(failed.code == 4);
  CHECK(failed.why.find("r-worker failed") != std::string::npos);
  CHECK(failed.why.find("r-worker-0-b") != std::string::npos);
  CHECK(k8s_run_outcome({job("r-worker", "Failed")}, {pods[0], pods[2]}).code == 6);
  CHECK(k8s_run_outcome({job("r-worker", "Failed")}, {pods[2]}).code == 1);
}
