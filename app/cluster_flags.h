// What `podlab cluster run`, `podlab ps|worker` and `podlab submit` share: their flags, the training
// flags a task process is started with, and SIGINT/SIGTERM handling.
#pragma once

#include <CLI/CLI.hpp>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "app/train_setup.h"

namespace podlab {

struct ClusterFlags {
  SetupFlags setup;
  int ps = 1, workers = 2, replicas = 0;
  std::string cluster_spec, transport = "threads", placement = "round-robin", mode = "async";
  bool json = false;
  int64_t max_steps = 0;
  int eval_limit = 0, retry_ms = 1000;
  bool overlap = false;  // async workers compute the next gradient while a push is answered
  // faults
  int heartbeat_ms = 500;
  double heartbeat_timeout_s = 3, peer_timeout_s = 30;
  std::string checkpoint_dir;
  int64_t checkpoint_every_steps = 0;
  double checkpoint_secs = 0;
  int restart_failed = 0;
  std::string progress_file;  // podlab ps|worker: live progress for the launcher
  double latency_ms = 0, jitter_ms = 0, bandwidth_mbps = 0, loss = 0;
  std::string slowdown;              // "1,1,4": per-worker factors
  std::vector<std::string> silence;  // "I:N": worker I goes silent after N messages
  uint64_t sim_seed = 1;
  // podlab ps|worker: one task of a cluster in this process
  int index = -1;
  std::string report_file;
  double connect_timeout_s = 30;
  int metrics_port = 0;       // 0: no HTTP endpoints
  double dns_timeout_s = 60;  // workers: wait this long for the ps names to resolve
  std::string keys_dir;  // --keys (else $PODLAB_KEYS): CURVE key directory for the zmq transport
  bool wait_for_job = false;  // podlab ps|worker: a server running submitted jobs
  int64_t job_id = 0;         // the submitted job these flags run (set by the server, not a flag)
};

// The training flags a task process needs to build the same plan as its launcher (as given, before
// make_setup filled in defaults, so every task fills them in the same way); `json` adds --json.
std::vector<std::string> task_args(const ClusterFlags& f, bool json);

// The flags given on `cmd`'s command line that are not in `allowed`, as "--epochs, --mode" ("" when none).
std::string flags_given_outside(const CLI::App& cmd, const std::set<std::string>& allowed);

// "2 ps tasks and 3 workers"
std::string tasks_text(int ps, int workers);

// The training flags (name without "--", value) and mode that `podlab k8s render` writes into its
// pods, checked as each pod's `podlab ps|worker` will read them: flag ranges and names, the model
// spec, the schedule, the mode, and replicas-to-aggregate against `workers`. kUsage naming the flag,
// so a typo fails at render time rather than in every pod.
Status check_pod_training_flags(const std::vector<std::pair<std::string, std::string>>& training, const std::string& mode,
                                int workers);

// Heartbeats, timeouts and ps checkpoints: the same for `cluster run`, single tasks and submit.
void add_fault_flags(CLI::App& cmd, ClusterFlags& f);

// SIGINT/SIGTERM (cluster_flags.cpp): the first sets g_cluster_stop (g_first_signal says which it
// was); another one a second or more later ends the process with the interrupted code.
extern volatile std::sig_atomic_t g_cluster_stop;
extern volatile std::sig_atomic_t g_first_signal;
void catch_stop_signals();

}  // namespace podlab
