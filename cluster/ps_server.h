// A parameter-server task: holds one shard of the flat parameter buffer and runs the engine's
// optimiser on it (the same classes Trainer uses, over the shard's floats). The server policy is the
// plan's SyncMode (see context.h); requests are answered by kParams, at a time the mode decides:
//   PULL   when the shard is initialised (by the chief's INIT)
//   PUSH   async: at once, after applying; ssp:K: once the sender is at most K pushes ahead of the
//          slowest worker; sync: once the step the gradient was for has been applied (or at once
//          when it was stale and dropped)
//   STOP   (from the chief) at once, with the final values; every later request but SNAPSHOT gets STOP.
//   HEARTBEAT  at once (HEARTBEAT, or STOP after the end); SNAPSHOT (chief) at once, values + slots.
// A PUSH after the last step is dropped (late) and answered at once; workers other than the chief,
// once every ps has said the last step is done, wait for STOP with HEARTBEATs (worker.h).
// Requests re-sent after a timeout (same seq) are recognised and not applied twice; a PULL or INIT
// whose seq is below the sender's last one is a restarted worker, whose numbering starts again.
// Faults: every message from a worker is a sign of life (ages in stats and progress); a ps that hears
// from no worker for plan.peer_timeout_ms (connect_timeout_ms before the first) gives up (kNetwork),
// and so does one of a job run directly whose chief, or a worker its mode needs, is lost (training_lost()). A ps created with a checkpoint in
// plan.checkpoint_dir starts from it (values, optimiser slots, step) instead of waiting for INIT, and
// answers gradients for versions it has not reached (computed before it restarted) with its values.
// A ps without a checkpoint that gets a PUSH before any INIT was restarted and has lost its shard (a
// worker pushes only after PARAMS from every ps): it ends with kData at once instead of waiting for an
// INIT that never comes.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "cluster/context.h"
#include "engine/optim/optimizer.h"

namespace podlab {

class PsServer {
 public:
  // ctx.self must be a ps task inside ctx.placement. Errors: a bad optimiser config; a checkpoint in
  // plan.checkpoint_dir that cannot be read or does not fit the plan (kData/kIo).
  static Result<std::unique_ptr<PsServer>> create(const Context& ctx);

  // Serves until the transport closes, or after STOP until no message came for linger_ms; or, when
  // every task is on this machine, for 300 ms only once every worker has been told STOP and the chief,
  // when checkpointing, has confirmed holding its final SNAPSHOT (not for a wait-for-job server, whose chief
  // reports to the desk after STOP).
  // Call from one thread. Returns non-ok when sending fails for a reason other than shutdown, when no
  // worker was heard from for plan.peer_timeout_ms (kNetwork), when the chief is lost (kNetwork), when *ctx.stop was set (kInterrupted),
  // or when a PUSH shows this ps lost its shard in a restart with no checkpoint to restore (kData).
  Status run();

  // A copy of the counters; thread-safe (the display reads it while run() goes on).
  PsStats stats() const;
  // The shard's current values (for tests; call after run() returned).
  const FloatBuffer& values() const { return values_; }

 private:
  // A request waiting for its answer. kind: what it waits for.
  struct Waiter {
    enum class Until { kInitialised, kStepAbove, kSspClock, kNow } until = Until::kNow;
    TaskId to;
    uint32_t seq = 0;
    int64_t step = 0;  // kStepAbove: answer once step_ > step
  };

  explicit PsServer(const Context& ctx) : ctx_(ctx) {}
  Status restore_from_checkpoint();
  void handle(Envelope& env);
  // Ok when `h` (from `from`) is a request of a worker of this cluster to this ps's shard that fits it;
  // otherwise what is wrong with it, for bad_message().
  Status check_request(const TaskId& from, const MessageHeader& h) const;
  // bytes: the whole message. False when the PUSH was rejected (nothing changed, seq not recorded).
  bool handle_push(const MessageHeader& h, const uint8_t* bytes);
  void apply_sync_step();
  bool ready(const Waiter& w) const;
  void release_waiters();
  void reply(const TaskId& to, MessageType type, uint32_t seq);
  MessageHeader answer_header(MessageType type, uint32_t seq) const;  // from this ps, at st_.step
  void send_answer(const TaskId& to, Bytes bytes);  // keeps the first error that is not kNetwork
  // Answers a worker's request with STOP and notes it was told. A worker waiting for STOP after the
  // last step asks with HEARTBEATs, so a STOP answering one counts too.
  void tell_stop(const TaskId& to, uint32_t seq);
  void end_job_if_stuck();
  // Handles one received message; false when this run is over (a send failed, the shard's state is
  // lost, the job ended).
  bool take(Envelope& env, std::chrono::steady_clock::time_point now);
  // Takes the messages already queued (up to 1000, then gives way), so that ones which waited while
  // this ps did not run (a loaded machine) count as signs of life before anyone's silence counts as a
  // failure. False as take(), or when the transport closed.
  bool drain_queue();
  // A wait-for-job ps 0: the workers not heard from for peer_timeout_ms, or never in connect_timeout_ms
  // since this run started, not yet counted as failed (empty for any other ps).
  std::vector<int> silent_workers(std::chrono::steady_clock::time_point now) const;
  // Whether worker w is lost: silent for more than came_ms since its last message, or, never heard,
  // not come within come_ms() of this ps's start.
  bool worker_lost(int w, std::chrono::steady_clock::time_point now, int came_ms) const;
  int come_ms() const;  // how long a worker may take to come: connect_timeout_ms, or peer_timeout_ms for threads
  // Counts the silent_workers() as failed (killed without a word, their machine gone); a job the
  // mode cannot go on with ends (end_job_if_stuck).
  void note_silent_workers(std::chrono::steady_clock::time_point now);
  // Counts one gradient's staleness (updates since the version it was computed on) in the histogram,
  // sum and maximum. Gradients for versions this ps has not produced have none and are not counted.
  void record_staleness(int64_t staleness);
  // A ps of a job run directly (not --wait-for-job, where ps 0 counts a silent chief as failed):
  // non-ok once the chief, which initialises, evaluates and ends training, has not come within
  // connect_timeout_ms of this ps's start, or has been silent for the longer of peer_timeout_ms and
  // connect_timeout_ms (a replacement chief loads its data first; a chief computes and writes
  // checkpoints without a word). Also non-ok, before the last step, once workers lost by the same
  // limits (silent past the longer of the two, or not come within connect_timeout_ms) are more than the mode trains on
  // without (sync: fewer than replicas_to_aggregate left; ssp: any): waiting would never end.
  // The workers then hear why (give_up) rather than wait for a STOP that never comes.
  Status training_lost(std::chrono::steady_clock::time_point now) const;
  Status needed_workers_lost(std::chrono::steady_clock::time_point now) const;  // training_lost()'s worker part
  // Answers the requests waiting here, and for up to linger_ms those of workers still computing,
  // REFUSE with a report of `why` ("gave_up": true), so every worker exits with its reason at once.
  void give_up(const Status& why);
  std::set<int> silent_failed_;  // wait-for-job ps 0: workers counted as failed for their silence
  void reply_snapshot(const TaskId& to, uint32_t seq);
  void publish();
  void log_peers(std::chrono::steady_clock::time_point now);  // Context::log_peers: dead and back
  std::string state_text() const;
  void bad_message(const TaskId& from, const Status& st);
  void refuse(const TaskId& to, uint32_t seq);  // REFUSE with plan_text_ (the worker's plan differs)

  Context ctx_;
  const Shard* shard_ = nullptr;
  std::unique_ptr<Optimizer> optimizer_;
  FloatBuffer values_, grad_, sum_;   // shard floats
  bool initialised_ = false, stopped_ = false, restored_ = false;
  std::chrono::steady_clock::time_point last_message_, last_publish_, started_;
  std::chrono::steady_clock::time_point last_worker_;  // any message from a worker, valid or not
  std::map<int, std::chrono::steady_clock::time_point> heard_;  // per worker: its last valid message
  std::set<int> refused_plan_;  // workers refused for other training flags (their plan's fingerprint)
  std::vector<Waiter> waiters_;
  std::map<int, uint32_t> last_seq_;   // per worker: highest request seq seen
  std::vector<int64_t> clock_;         // ssp: distinct pushes per worker
  // sync: the current step's accepted gradients by worker index (ordered, so the sum is deterministic)
  std::map<int, std::pair<uint32_t, FloatBuffer>> accum_;  // worker -> (samples, gradient)
  Status send_error_;
  Status lost_state_;  // set by a PUSH before INIT: this ps restarted without a checkpoint
  bool job_over_ = false;      // a wait-for-job server's chief reported the job's result (Context::jobs)
  bool desk_message_ = false;  // the message handle() just took was the desk's
  std::vector<bool> told_stop_;          // per worker: answered STOP (or, the chief, its own STOP)
  int64_t final_snapshot_seq_ = -1;      // seq of the chief's SNAPSHOT after STOP; -1: none yet
  bool final_snapshot_ = false;          // the chief confirmed it holds that SNAPSHOT (a later HEARTBEAT)
  bool told_linger_ = false;             // leave 300 ms after everyone_told() (see run())
  bool everyone_told() const;
  std::string plan_text_;     // plan_agreement_text() of this ps's plan
  uint32_t fingerprint_ = 0;  // its plan_fingerprint()
  int refusals_logged_ = 0;
  std::map<int, bool> reported_silent_;  // Context::log_peers: per worker heard from, reported silent
  Bytes spare_;  // a received message's buffer, reused for the next reply (see encode_message_into)

  PsStats st_;  // the run() thread's counters (st_.step is the shard's version)
  mutable std::mutex stats_mu_;
  PsStats published_;  // guarded by stats_mu_: a copy of st_ made by publish()
};

}  // namespace podlab
