// A worker task: pulls parameters from every ps, computes a gradient on its share of the data, pushes
// it, and repeats until a ps says STOP. Worker 0 is the chief: it also initialises the parameters
// (INIT to every ps), evaluates on the test split at each epoch boundary of the global step,
// decides when training is over (global step == plan.total_steps, or the observer asks to stop) and
// tells the ps tasks (STOP), whose answer carries the final parameters.
//
// Data: worker i draws batches of plan.train.batch samples from
//   async, ssp:K  its own order: epoch permutations of the training set seeded by worker_seed(seed, i)
//                 (worker 0 uses the seed itself, so one async worker replays single-process training)
//   sync          a global order split across workers: step s is global batch s of workers x batch
//                 samples from epoch_order(seed, epoch); worker i takes slice i. With R = workers
//                 that is single-process training with a batch of workers x batch.
// Overlap (async with plan.overlap): a worker sends its gradient and computes the next one on the
// values it holds while the ps applies it and answers, then takes the answer in; so each gradient is
// one update staler than without overlap (the ps's staleness counters show it), and computing never
// waits for the network. The two gradient buffers alternate so a re-sent push carries the same floats.
// Sync and ssp:K never overlap: sync must equal single-process training, ssp must keep its bound.
// Requests without an answer within plan.retry_ms are re-sent with the same seq (lost messages).
// Faults: while waiting on a ps the worker sends it a HEARTBEAT every plan.heartbeat_ms; a ps silent
// for plan.peer_timeout_ms ends the worker with kNetwork; *ctx.stop (non-chief) ends it with
// kInterrupted; the chief's observer either stops the cluster (should_stop: STOP, checkpoint, the
// result says interrupted) or leaves it running (should_leave: checkpoint, kPreempted). With plan.checkpoint_dir the chief snapshots every ps (SNAPSHOT: values and optimiser
// slots) into an engine checkpoint after INIT, on the plan's cadence, and before STOP.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "cluster/batch_gradient.h"
#include "cluster/context.h"

namespace podlab {

uint64_t worker_seed(uint64_t seed, int worker);

// What the chief reports when training is over.
struct ChiefResult {
  bool interrupted = false;   // training stopped before the last step (a signal, or ended_by_ps)
  bool ended_by_ps = false;   // a ps answered STOP first: ps 0 of wait-for-job servers ended the job
  bool preempted = false;     // left on should_leave(): checkpointed, the cluster not stopped
  int64_t steps = 0;          // global step reached (min over shards)
  int64_t resumed_from_step = 0;  // the step the ps tasks held when this chief started (restored from
                                  //   --checkpoint-dir, or kept for a replacement chief); 0: a fresh start.
                                  //   A processes launcher reports the run's instead (its checkpoint at the start)
  int epochs_completed = 0;   // steps / steps_per_epoch
  double seconds = 0;
  EvalResult test;            // on the final parameters; a run that failed or left: the last epoch's
                              //   evaluation (samples 0: none)
  double train_loss = 0;      // the chief's mean training loss over the last epoch
};

class Worker {
 public:
  // ctx.self must be a worker task; ctx.data must hold the dataset. Errors: model/config problems.
  static Result<std::unique_ptr<Worker>> create(const Context& ctx);

  // Trains until STOP (or, for the chief, until it stops the cluster). Returns non-ok when the
  // transport closed before STOP (kNetwork), a ps went silent for plan.peer_timeout_ms (kNetwork), a
  // checkpoint could not be written (kIo), or *ctx.stop was set (kInterrupted).
  Status run();

  WorkerStats stats() const;                        // thread-safe copy
  const ChiefResult& chief_result() const { return result_; }  // chief, after run()
  const FloatBuffer& parameters() const { return grad_->values(); }  // after run(): last pulled values

 private:
  explicit Worker(const Context& ctx) : ctx_(ctx) {}
  bool is_chief() const { return ctx_.self.index == 0; }
  Status train();  // run() minus the final publish
  // Sends `type` to every ps (whole-shard floats from `flat` for INIT/PUSH) and waits for every
  // answer, re-sending on timeout. Sets *stop when a ps answered STOP. The chief's PUSH also returns
  // (without all answers) when the observer asks to stop.
  Status exchange(MessageType type, const float* flat, uint32_t samples, bool* stop);
  // exchange() in two halves: send() starts the request (finishing one still in flight first);
  // finish() waits for its answers. `flat` must stay unchanged until finish() returns (retries
  // encode it again).
  // A PUSH's header names the versions its gradient was computed on: `computed_on` (per shard),
  // else the versions held when it is sent.
  Status send(MessageType type, const float* flat, uint32_t samples, bool* stop,
              const std::vector<int64_t>* computed_on = nullptr);
  Status finish(bool* stop);
  // A worker other than the chief once every ps has applied the last step: waits for the chief's
  // STOP (a ps answers a HEARTBEAT with it), sending every ps a HEARTBEAT each plan.heartbeat_ms
  // instead of computing gradients that could only arrive late. kNetwork when a ps is silent for
  // plan.peer_timeout_ms; a REFUSE (a ps that gave up) ends it with the ps's reason.
  Status wait_for_stop();
  // The header of a message from a ps about its own shard; nullopt when corrupt or misdirected.
  std::optional<MessageHeader> ps_header(const Envelope& env) const;
  Status send_to(int k, MessageType t);  // encodes and sends one message of the request in flight
  int next_batch(int64_t step, std::vector<int>* idx);  // fills idx; returns the sample count
  int64_t global_step() const;
  void evaluate_epochs(int64_t step, double seconds, bool final = false);
  EvalResult evaluate();  // chief: the trainer's values on the test split, keeping every ps told it is alive
  // A HEARTBEAT to every ps not sent anything for plan.heartbeat_ms: while the worker is away from its
  // ps tasks (evaluating), they still hear from it that often. Their answers are dropped by the next
  // finish(). Sends nothing once STOP was sent (the ps tasks no longer watch for silence, and may be
  // gone), nor after a failed send until the next request (a gone ps: each try waits the connect
  // timeout; the next request reports it).
  void keep_alive();
  void publish(bool done);
  bool interrupted() const { return ctx_.stop && *ctx_.stop; }
  // The configuration error for a ps's REFUSE (its plan text): which training flags differ.
  Status refused(const TaskId& ps, const std::string& ps_plan) const;
  bool overlaps() const;  // whether pushes overlap computing (see the top of this file)
  // Chief: SNAPSHOT every ps and write the checkpoint (when plan.checkpoint_dir is set); `due` only
  // when the plan's cadence says so.
  Status checkpoint(bool only_if_due, bool* stop);
  // Chief, after the final SNAPSHOT (taken after STOP) is written: a HEARTBEAT under a new seq tells
  // every ps that the chief holds its state, so the ps may close its socket (until then it keeps its
  // answer from being cut off; see PROTOCOL.md); waits up to min(plan.peer_timeout_ms, 3 s) for each
  // ps's STOP answer. Never fails: the checkpoint is already on disk.
  void confirm_final_snapshot();
  // Chief, when the observer says should_leave(): checkpoint without STOP, end with kPreempted.
  Status leave(std::chrono::steady_clock::time_point t0);

  Context ctx_;
  std::unique_ptr<BatchGradient> grad_;
  std::unique_ptr<Trainer> trainer_;  // chief only: initial values and evaluation
  FloatBuffer grads_[2], shard_buf_;  // gradients: two, alternating, when pushes overlap computing
  // The request in flight (send() .. finish()).
  struct Request {
    bool active = false;
    MessageType type = MessageType::kPull;
    const float* flat = nullptr;
    uint32_t samples = 0;
    std::vector<int64_t> versions;  // per shard: the `step` its messages carry
    std::vector<bool> pending;  // per shard: no answer yet
    int left = 0;
    std::chrono::milliseconds wait{0};
    std::chrono::steady_clock::time_point retry_at;
    int tries = 0;
  };
  Request req_;
  std::vector<Bytes> spare_;          // per shard: the last answer's buffer, reused to send
  std::vector<int64_t> versions_;     // per shard: version of the values we hold
  uint32_t seq_ = 0;
  bool stop_sent_ = false;          // a STOP was sent: keep_alive() is off for good
  bool keep_alive_failed_ = false;  // until the next send()
  std::string plan_text_;     // plan_agreement_text() of this worker's plan
  uint32_t fingerprint_ = 0;  // its plan_fingerprint(), in the aux of INIT and PULL
  uint64_t seed_ = 0;
  std::vector<int> order_;            // data order for order_epoch_
  int order_epoch_ = -1;
  int local_epoch_ = 0, local_batch_ = 0;  // async/ssp position in the worker's own order
  int reported_epochs_ = 0;           // chief
  EvalResult last_eval_;              // chief: the last epoch evaluation and the versions it saw
  std::vector<int64_t> last_eval_versions_;
  std::vector<std::chrono::steady_clock::time_point> heard_;    // per ps: its last message to us
  std::vector<std::chrono::steady_clock::time_point> hb_sent_;  // per ps: our last message to it
  FloatBuffer snapshot_slots_;        // chief: optimiser slots gathered by SNAPSHOT (blocks x total)
  int64_t ckpt_step_ = -1;            // chief: step of the last checkpoint
  std::chrono::steady_clock::time_point ckpt_time_;
  double loss_window_ = 0, epoch_loss_ = 0;
  int loss_window_n_ = 0, epoch_loss_n_ = 0;
  ChiefResult result_;

  WorkerStats st_;  // the run() thread's counters
  mutable std::mutex stats_mu_;
  WorkerStats published_;  // guarded by stats_mu_
};

}  // namespace podlab
