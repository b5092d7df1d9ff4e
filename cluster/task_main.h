// One task per process: what `podlab ps|worker` and `podlab cluster run --transport processes` share.
//   - a task's end state as one JSON object (its counters, the chief's result, how it ended), written
//     by each task process and merged by the launcher into the ClusterReport that threads mode prints;
//   - the launcher: N ps and M worker processes (fork/exec of its own binary) on 127.0.0.1 with
//     free ports, their own process group, SIGKILL if the launcher dies (PR_SET_PDEATHSIG), the
//     launcher's SIGINT/SIGTERM forwarded to the chief as SIGINT (it stops the cluster politely), and
//     every child killed as soon as any one fails or the grace period after the chief ends runs out.
#pragma once

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>
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
  std::string podlab;                  // the podlab binary; empty: this process's own (by its path, so
                                       //   the tasks show as podlab in ps and pgrep, not as exe)
  int restarts = 0;                    // a task that dies while training goes on is started again, up to
                                       //   this many times in all
  // Without a restart left, a non-chief worker killed by SIGKILL or SIGTERM (or stopped by a SIGINT or
  // SIGTERM it caught, exit 130: the launcher signals only the chief) is left behind when
  // training can go on without it: async, or sync while at least replicas_to_aggregate workers live
  // (ssp never: its clock would hold everyone). Any other death fails the run.
  SyncMode mode;
  int replicas_to_aggregate = 1;
  int64_t resumes_from_step = 0;       // the step of the checkpoint its --checkpoint-dir held at the start
                                       //   (the ps tasks restore it): the report's resumed_from_step
  bool has_checkpoint_dir = false;     // task_args name one; otherwise, with restarts, the launcher adds
                                       //   its own so a restarted ps can restore its shard
  LocalClusterObserver* observer = nullptr;  // gets every task's progress (read from the tasks' progress
  double progress_interval_s = 1.0;          //   files) and the launcher's notes, this often
  // With an observer: the tasks' stdout and stderr reach it line by line (on_output) instead of the
  // terminal, so that it can keep a progress bar whole; the launcher's news of a lost or restarted
  // task, printed on stderr otherwise, is then only in that task's state.
  bool relay_output = false;
};

// Runs the cluster as child processes and returns their merged reports (placement left empty).
// Each task writes its live progress to a file the launcher reads (--progress-file).
// `stop` (set by the caller's signal handler) is forwarded to the chief. Errors: a task failing
// (its exit code's StatusCode, naming the task), or the tasks not ending within the grace period.
// No child outlives the call.
Result<ClusterReport> run_process_cluster(const ProcessClusterOptions& options, volatile std::sig_atomic_t* stop);

// A task's live progress as one JSON object, and back (kData on bad input).
std::string task_progress_json(const TaskProgress& p);
Result<TaskProgress> parse_task_progress(const std::string& text);

// Writes `self`'s entry of `board` to `path` (atomically: temp file and rename) every 250 ms from its
// own thread, and once more when destroyed. An empty path: does nothing.
class ProgressFileWriter {
 public:
  ProgressFileWriter(std::string path, const ProgressBoard* board, TaskId self);
  ~ProgressFileWriter();
  ProgressFileWriter(const ProgressFileWriter&) = delete;
  ProgressFileWriter& operator=(const ProgressFileWriter&) = delete;

 private:
  void write();
  std::string path_;
  const ProgressBoard* board_;
  TaskId self_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;
};

// Messages the zmq transport dropped as malformed (0 for other transports). transport_zmq.cpp.
int64_t zmq_malformed_messages(const Transport& t);

}  // namespace podlab
