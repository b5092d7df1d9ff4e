// What every task of a training cluster shares: the plan all tasks agree on (model, optimiser,
// mode, schedule), the placement, the transport, the data, and where live progress goes. There is
// no process-wide state: a Context is built per task and passed in, so one process can run N ps and
// M workers as threads over one inproc transport (ps-lite keeps this in a Postoffice singleton; we
// do not). Also the counters tasks report at the end.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/placement.h"
#include "cluster/transport.h"
#include "engine/data/dataset.h"
#include "engine/trainer.h"

namespace podlab {

// How the ps applies gradients.
//   async   apply each gradient on arrival (Hogwild-style, TF's default between-graph replication)
//   sync    TF SyncReplicasOptimizer: per step, average the first R gradients computed on the current
//           version, drop stale ones; workers beyond R are backup workers
//   ssp:K   stale synchronous parallel (Ho et al. 2013): apply on arrival, but a worker more than K
//           pushes ahead of the slowest one waits
struct SyncMode {
  enum class Kind { kAsync, kSync, kSsp } kind = Kind::kAsync;
  int staleness = 0;  // ssp: K >= 0
  static Result<SyncMode> parse(const std::string& text);
  std::string to_string() const;
};

// Everything the tasks must agree on. Built once (by the launcher, or from the same flags in each
// process) and never changed while training.
struct TrainingPlan {
  TrainConfig train;            // model, optimiser, per-worker batch and compute threads, seed
  SyncMode mode;
  int num_workers = 1;
  int replicas_to_aggregate = 1;  // sync: R, 1 <= R <= num_workers
  int epochs = 1;
  int64_t train_count = 0;      // samples in the training split
  int64_t steps_per_epoch = 0;  // async/ssp: ceil(N / batch); sync: ceil(N / (workers * batch))
  int64_t total_steps = 0;      // epochs * steps_per_epoch, or --max-steps when smaller
  int eval_limit = 0;           // chief's evaluations: at most this many test samples (0: all)
  int retry_ms = 1000;          // a request without a reply for this long is sent again
  bool overlap = false;         // async workers compute the next gradient while a push is answered
                                //   (worker.h; a worker's own choice: tasks need not agree)
  int linger_ms = 2000;         // a stopped ps waits this long for workers still to be told
  // Faults (PROTOCOL.md, "Heartbeats"). A worker waiting on a ps sends it a HEARTBEAT every
  // heartbeat_ms, which the ps answers at once; any message counts as a sign of life. A peer silent
  // for heartbeat_timeout_ms is reported dead (progress lines, counters). A worker gives up on a ps
  // silent for peer_timeout_ms, and a ps that hears from no worker for as long gives up (kNetwork).
  // Until a ps has heard from its first worker it waits connect_timeout_ms instead, and until its first
  // gradient the longer of the two: workers start when they start (a pod's image pull, a dataset to
  // load, another ps to come up), and peer_timeout_ms is about peers lost.
  int heartbeat_ms = 500;
  int heartbeat_timeout_ms = 3000;
  int peer_timeout_ms = 30000;
  int connect_timeout_ms = 30000;
  // Checkpoints of the ps state (every shard with its optimiser slots, as one engine checkpoint of the
  // whole model). The chief writes them into checkpoint_dir after INIT, every checkpoint_every_steps
  // global steps and/or checkpoint_secs seconds (0: off), and before STOP; a ps starting with a
  // checkpoint in checkpoint_dir restores its shard from the newest one. Empty dir: no checkpoints.
  std::string checkpoint_dir;
  int64_t checkpoint_every_steps = 0;
  double checkpoint_secs = 0;
  std::string dataset;  // the dataset's name, recorded in checkpoints
  uint32_t train_labels_crc = 0;  // Split::labels_crc of the training split: the tasks must read the same data
  int64_t job_id = 0;   // wait-for-job servers: the job this plan is for (0: not a submitted job)
};

// Fills steps_per_epoch and total_steps; checks R and the mode against the worker count.
Status finish_plan(TrainingPlan& plan, int64_t max_steps = 0);

// Whether training in `mode` goes on with only `live` of its workers, the others dead or failed:
// async with any worker left, sync with at least `replicas_to_aggregate`, ssp never (its clock
// waits for the slowest worker). The launcher leaves a killed worker behind by it, and a wait-for-job
// ps 0 ends a job by it.
bool trains_on_with(const SyncMode& mode, int replicas_to_aggregate, int live);

// What the ps tasks and workers of one job must agree on, as text: "model=mlp:200,200 optimizer=adam
// lr=0.003 ... placement=round-robin:199226" (everything that sets the ps's updates, the global step
// count or the data each worker reads; not timeouts, overlap or the chief's checkpoints). Tasks
// started separately each build their plan from their own flags: a worker's INIT and PULL carry
// plan_fingerprint() in `aux`, and a ps whose own differs answers REFUSE with its text (PROTOCOL.md).
std::string plan_agreement_text(const TrainingPlan& plan, const Placement& placement);
// CRC-32C of the text, never 0 (0 in `aux` means "no fingerprint").
uint32_t plan_fingerprint(const std::string& agreement_text);

// Live per-task progress for the launcher's one-line-per-second display. Thread-safe.
struct TaskProgress {
  std::string name;
  int64_t step = 0;        // ps: version of its shard; worker: version it last pulled
  int64_t pushes = 0;      // ps: gradients received; worker: gradients sent
  int64_t applied = 0;     // ps: updates applied; worker: samples computed
  int64_t dropped = 0;     // ps: stale gradients dropped; worker: retries
  double loss = 0;         // worker: mean training loss since the last publish
  double compute_s = 0;    // worker: seconds spent computing gradients so far
  double wait_s = 0;       // worker: seconds spent waiting on its ps tasks so far
  bool done = false;
  std::string state;       // what the task is waiting for, or why it is unwell; empty when all is well
  std::map<std::string, double> heartbeat_age_s;  // peer name -> seconds since this task last heard from it
};
class ProgressBoard {
 public:
  explicit ProgressBoard(const std::vector<TaskId>& tasks);
  void publish(const TaskId& task, const TaskProgress& p);
  std::vector<TaskProgress> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<TaskId> tasks_;          // fixed
  std::vector<TaskProgress> entries_;  // guarded by mu_
};

// Epoch reports and interruption, for the chief.
struct ClusterEpochReport {
  int epoch = 0;  // 1-based: epochs completed (by global step)
  int64_t step = 0;
  double train_loss = 0;  // the chief's mean training loss since the last report
  EvalResult test;
  double elapsed_s = 0;
};
class JobDesk;  // job_desk.h

class ChiefObserver {
 public:
  virtual ~ChiefObserver() = default;
  virtual void on_epoch(const ClusterEpochReport&) {}
  virtual bool should_stop() { return false; }  // polled before every step
  // Polled with should_stop: this process is being taken away (SIGTERM to a pod: preemption,
  // eviction, deletion). The chief then checkpoints and ends without stopping the cluster, so a
  // replacement chief carries on with the same ps tasks (or, were they replaced too, the checkpoint).
  virtual bool should_leave() { return false; }
  virtual void on_checkpoint(const std::string& /*path*/, int64_t /*step*/) {}
};

struct Context {
  TaskId self;
  const TrainingPlan* plan = nullptr;
  const Placement* placement = nullptr;
  Transport* transport = nullptr;
  const Dataset* data = nullptr;      // workers only; the chief also evaluates on data->test
  ProgressBoard* board = nullptr;     // optional
  ChiefObserver* observer = nullptr;  // optional, chief only
  // Optional, ps and non-chief workers: set (by a signal handler) to end the task promptly with
  // kInterrupted. The chief asks its observer instead (it stops the whole cluster).
  const volatile std::sig_atomic_t* stop = nullptr;
  // Optional, ps of a wait-for-job server: JOB/RESULT/client messages go there; the run ends when
  // the chief has reported the job's result.
  JobDesk* jobs = nullptr;
  // ps: tell stderr about its peers (a worker first heard, silent past heartbeat_timeout_ms, back
  // again) and its end. For tasks on their own (`podlab ps`, a pod's log); a launcher or the GUI
  // shows the same from the progress board instead.
  bool log_peers = false;
};

// Staleness buckets: 0, 1, 2, 3, 4-7, 8-15, 16-31, 32+ (updates applied between a gradient's
// version and its arrival).
inline constexpr int kStalenessBuckets = 8;
int staleness_bucket(int64_t staleness);
const char* staleness_bucket_label(int bucket);

struct PsStats {
  int shard = 0;
  size_t floats = 0;
  int64_t step = 0;                 // updates applied to the shard
  int64_t gradients = 0;            // distinct gradients received (duplicates from retries excluded)
  int64_t applied = 0;              // gradients that went into an update
  int64_t samples_applied = 0;      // samples behind those gradients
  int64_t dropped_stale = 0;        // sync: computed on an old version
  int64_t dropped_late = 0;         // arrived after the last step or after stop
  int64_t duplicates = 0;           // re-sent requests recognised by seq
  int64_t bad_messages = 0;         // failed validation (logged and ignored)
  std::vector<int64_t> staleness = std::vector<int64_t>(kStalenessBuckets, 0);
  int64_t max_staleness = 0;
  double staleness_sum = 0;
  // Over the gradients in the histogram (not those for versions this ps had not produced).
  double mean_staleness() const {
    int64_t n = 0;
    for (int64_t c : staleness) n += c;
    return n ? staleness_sum / static_cast<double>(n) : 0.0;
  }
  int64_t restored_step = -1;       // the checkpoint step this ps started from (-1: none)
  int64_t worker_restarts = 0;      // workers that came back (their requests started again at seq 1)
  int64_t heartbeats = 0;           // HEARTBEATs answered
  std::map<std::string, double> heartbeat_age_s;  // worker -> seconds since its last message (never: absent)
};

struct WorkerStats {
  int index = 0;
  int64_t pushes = 0, samples = 0, retries = 0;
  double compute_s = 0, wait_s = 0;  // gradient computation vs waiting for parameters
  double train_loss = 0;             // mean over its pushes
  int64_t heartbeats = 0;            // HEARTBEATs sent
  int64_t checkpoints = 0;           // chief: checkpoints written
  std::map<std::string, double> heartbeat_age_s;  // ps -> seconds since its last answer
};

}  // namespace podlab
