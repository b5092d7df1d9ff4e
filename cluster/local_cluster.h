// A whole training cluster inside this process: N ps threads and M worker threads over one inproc
// transport, as `podlab cluster run --transport threads` and the tests use it. The calling thread
// watches: it hands the observer a progress snapshot every `progress_interval_s`, waits for the
// chief, gives the other workers `grace_ms` to hear STOP (a dead worker never does), then shuts the
// transport down and joins everything.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/context.h"
#include "cluster/ps_server.h"
#include "cluster/worker.h"

namespace podlab {

struct LocalClusterOptions {
  TrainingPlan plan;             // finished (finish_plan) for data.train.count
  int num_ps = 1;
  std::string placement = "round-robin";
  std::string transport = "inproc";
  TransportConfig network;       // simulation knobs only: link, worker_slowdown, worker_silent_after, seed
  double progress_interval_s = 1.0;
  int grace_ms = 3000;
};

// Thread-safe copies of every task's counters while the cluster runs (for live views: the GUI).
struct ClusterLive {
  std::vector<PsStats> ps;
  std::vector<WorkerStats> workers;
  std::vector<EndpointCounters> transport;  // per task, cluster order
};

class LocalClusterObserver : public ChiefObserver {
 public:
  virtual void on_tick(const std::vector<TaskProgress>& /*tasks*/, double /*elapsed_s*/) {}
  // Every tick too, after on_tick; copying the counters costs only when this is overridden to want them.
  virtual bool wants_live() const { return false; }
  virtual void on_live(const ClusterLive& /*live*/, const Placement& /*placement*/) {}
  // Processes launched with relay_output: a line a task process (`source`, e.g. "worker:0") wrote,
  // without its '\n'. This default prints it where it was meant to go.
  virtual void on_output(const std::string& source, bool is_stderr, const std::string& line);
};

struct ClusterReport {
  ChiefResult chief;
  Placement placement;
  std::vector<PsStats> ps;
  std::vector<WorkerStats> workers;
  std::vector<Status> worker_status;           // per worker: how its run() ended
  std::vector<EndpointCounters> transport;     // per task, cluster order
  FloatBuffer parameters;                      // the chief's final values (whole flat buffer)
  std::vector<FloatBuffer> ps_values;          // each ps's final shard
};

// Runs training to the end. Errors: bad options (kUsage/kConfig), or the chief failing.
Result<ClusterReport> run_local_cluster(const LocalClusterOptions& options, const Dataset& data,
                                        LocalClusterObserver* observer = nullptr);

}  // namespace podlab
