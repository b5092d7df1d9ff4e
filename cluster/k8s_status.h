// What `podlab k8s status` shows, from kubectl's JSON and each pod's /metrics: pure functions, so the
// parsing is tested without a cluster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

struct K8sPodRow {
  std::string name, role, index, phase;  // phase: Pending | Running | Succeeded | Failed | Unknown
  int restarts = 0;
  std::string exit_code;  // the podlab container's last exit code, "" while it runs
  std::string reason;     // e.g. "Completed", "Error", "OOMKilled", "ContainerCreating"
};
struct K8sJobRow {
  std::string name, state, detail;  // state: Running | Complete | Failed | Suspended
  int active = 0, succeeded = 0, failed = 0, completions = 0;
};

// Parses `kubectl get pods -o json` (a List). kData error when it is not that.
Result<std::vector<K8sPodRow>> parse_k8s_pods(const std::string& json_text);
// Parses `kubectl get jobs -o json`.
Result<std::vector<K8sJobRow>> parse_k8s_jobs(const std::string& json_text);

// A task's progress from its Prometheus text (task_metrics.h); missing values stay at -1 / "".
struct K8sTaskProgress {
  std::string task_phase;
  double step = -1, total_steps = -1, train_loss = -1, test_accuracy = -1, epochs = -1;
};
K8sTaskProgress parse_task_metrics(const std::string& prometheus_text);

// The table `podlab k8s status` prints: jobs, then one line per pod with its progress
// (`progress[i]` belongs to `pods[i]`).
std::string k8s_status_table(const std::vector<K8sJobRow>& jobs, const std::vector<K8sPodRow>& pods,
                             const std::vector<K8sTaskProgress>& progress);

// Whether a run is over, and the exit code `podlab k8s status --watch` ends with: 0 when every Job is
// Complete; when a Job Failed, the chief's (worker 0's) podlab exit code if it is one of the
// documented failures 2..6 (usage, config, data, io, network), else another failed pod's such code,
// else 1. Not over while any Job is active, or when there are no Jobs (not applied yet).
struct K8sRunOutcome {
  bool over = false;
  int code = 0;
  std::string why;  // one line: which Job completed or failed, and the exit code with its source
};
K8sRunOutcome k8s_run_outcome(const std::vector<K8sJobRow>& jobs, const std::vector<K8sPodRow>& pods);

}  // namespace podlab
