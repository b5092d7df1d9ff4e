// The Cluster tab's job: run_local_cluster() (ps and worker threads over the inproc transport with
// its network simulator) on a thread of its own, publishing what the tasks report a few times a
// second. Faults (slow / kill a worker, kill a ps, drop messages) go straight to the transport's
// LiveFaults. Start and stop return at once; nothing here waits for the UI.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/local_cluster.h"
#include "gui/setup_file.h"

namespace podlab::gui {

struct ClusterStatus {
  std::string phase = "idle";   // idle | starting | running | stopping | done | error
  std::string error;
  double elapsed_s = 0;
  int num_ps = 0, num_workers = 0;
  std::vector<TaskProgress> tasks;  // ps first, then workers
  ClusterLive live;
  Placement placement;
  std::vector<std::pair<double, double>> test_accuracy;  // (elapsed s, accuracy) per epoch report
  int64_t total_steps = 0;
  uint64_t ticks = 0;           // bumped by every publish
};

class ClusterSession {
 public:
  ClusterSession() = default;
  ~ClusterSession();  // stops the run and joins
  ClusterSession(const ClusterSession&) = delete;
  ClusterSession& operator=(const ClusterSession&) = delete;

  // Starts a run of `epochs` over `data` with the set-up's model, optimiser, batch and cluster shape;
  // `link` is the simulated network. Error (and nothing started) when a run is still going.
  Status start(const GuiSetup& setup, std::shared_ptr<const Dataset> data, const LinkModel& link, int epochs);
  void stop();           // asks the chief to stop; the run ends within about a second
  bool busy() const;     // a run is starting, running or stopping
  LiveFaults& faults() { return *faults_; }
  ClusterStatus status() const;  // a copy

 private:
  class Observer;
  void publish(const std::function<void(ClusterStatus&)>& edit);
  std::shared_ptr<LiveFaults> faults_ = std::make_shared<LiveFaults>();
  std::atomic<bool> stop_{false}, busy_{false};
  mutable std::mutex mu_;
  ClusterStatus status_;  // guarded by mu_
  std::thread thread_;
};

// Bytes per second on each worker<->ps link between two counter samples taken dt seconds apart:
// rate[w][k] for worker w and ps k (both directions). Pure, for the topology view and its test.
std::vector<std::vector<double>> link_rates(const std::vector<EndpointCounters>& before,
                                            const std::vector<EndpointCounters>& after, int num_ps,
                                            int num_workers, double dt);

}  // namespace podlab::gui
