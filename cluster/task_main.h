// One task per process: what `podlab ps|worker` and `podlab cluster run --transport processes` share.
//   - a task's end state as one JSON object (its counters, the chief's result, how it ended), written
//     by each task process and merged by the launcher into the ClusterReport that threads mode prints;
//   - the launcher: N ps and M worker processes (fork/exec of /proc/self/exe) on 127.0.0.1 with
//     free ports, their own process group, SIGKILL if the launcher dies (PR_SET_PDEATHSIG), the
//     launcher's SIGINT/SIGTERM forwarded to the chief as SIGINT (it stops the cluster politely), and
//     every child killed as soon as any one fails or the grace period after the chief ends runs out.
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include "cluster/local_cluster.h"

namespace podlab {

// {"task":"worker:0","code":0,"message":"","ps":{..}|"worker":{..},"chief":{..},"transport":{..}}
std::string task_report_json(const TaskId& task, const Status& status, const PsStats* ps, const WorkerStats* worker,
                             const ChiefResult* chief, const EndpointCounters* transport);
// Puts one task's report into its slots of `r` (r->ps, workers, worker_status and transport must
// already be sized for the cluster; transport in cluster order). kData error on a bad report.
Status merge_task_report(const std::string& json, ClusterReport* r);

struct ProcessClusterOptions {
  int num_ps = 1, num_workers = 1;
  std::vector<std::string> task_args;  // training flags every task gets (after ps|worker --cluster --index)
  int grace_ms = 20000;                // after the chief ends (or after forwarding a signal): then SIGKILL
  std::string podlab = "/proc/self/exe";
};

// Runs the cluster as child processes and returns their merged reports (placement left empty).
// `stop` (set by the caller's signal handler) is forwarded to the chief. Errors: a task failing
// (its exit code's StatusCode, naming the task), or the tasks not ending within the grace period.
// No child outlives the call.
Result<ClusterReport> run_process_cluster(const ProcessClusterOptions& options, volatile std::sig_atomic_t* stop);

// Messages the zmq transport dropped as malformed (0 for other transports). transport_zmq.cpp.
int64_t zmq_malformed_messages(const Transport& t);

}  // namespace podlab
