// The ps request loop. One thread owns all state except `published_`; that is why nothing but the
// stats copy needs a lock.
#include "cluster/ps_server.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cluster/job_desk.h"
#include "engine/checkpoint.h"

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// A limit in milliseconds as the messages print it: "30.0".
std::string seconds_text(int ms) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", ms / 1000.0);
  return secs;
}

}  // namespace

Result<std::unique_ptr<PsServer>> PsServer::create(const Context& ctx) {
  if (ctx.self.role != Role::kPs || ctx.self.index >= ctx.placement->num_shards())
    return Status::Internal(ctx.self.name() + " is not a ps task of this placement");
  std::unique_ptr<PsServer> ps(new PsServer(ctx));
  ps->shard_ = &ctx.placement->shards[ctx.self.index];
  const size_t n = ps->shard_->size();
  auto opt = make_optimizer(ctx.plan->train.optimizer, n);
  if (!opt.ok()) return opt.status();
  ps->optimizer_ = std::move(*opt);
  ps->values_.assign(n, 0.0f);
  ps->grad_.assign(n, 0.0f);
  ps->clock_.assign(ctx.plan->num_workers, 0);
  ps->told_stop_.assign(ctx.plan->num_workers, false);
  ps->told_linger_ = !ctx.jobs && (ctx.transport->name() == "inproc" || ctx.transport->config().cluster.on_one_machine());
  ps->plan_text_ = plan_agreement_text(*ctx.plan, *ctx.placement);
  ps->fingerprint_ = plan_fingerprint(ps->plan_text_);
  ps->st_.shard = ctx.self.index;
  ps->st_.floats = n;
  ps->started_ = Clock::now();
  PODLAB_RETURN_IF_ERROR(ps->restore_from_checkpoint());
  ps->publish();
  return ps;
}

// The chief's checkpoints hold the whole model (engine/checkpoint.h); a Trainer of the plan's model
// unpacks one (with every check restore_checkpoint makes), and this ps keeps its shard of it.
Status PsServer::restore_from_checkpoint() {
  const std::string& dir = ctx_.plan->checkpoint_dir;
  if (dir.empty()) return Status::Ok();
  auto path = latest_checkpoint(dir);
  if (!path.ok()) return Status::Ok();  // none yet: a fresh start, INIT comes from the chief
  const std::string where = ctx_.self.name() + ": restoring from " + *path;
  auto ckpt = load_checkpoint(*path);
  if (!ckpt.ok()) return ckpt.status().With(where);
  if (!ctx_.data) return Status::Internal(where + ": the ps has no dataset shape to build the model from");
  auto trainer = Trainer::create(ctx_.plan->train, ctx_.data->input_shape(), ctx_.data->num_classes);
  if (!trainer.ok()) return trainer.status().With(where);
  // A ps restores by itself (no --resume): a checkpoint of another job is fixed by another directory.
  PODLAB_RETURN_IF_ERROR(
      restore_checkpoint(*ckpt, **trainer, "give this job a --checkpoint-dir of its own (a ps restores the newest checkpoint there by itself)")
          .With(where));
  Trainer& t = **trainer;
  const size_t n = shard_->size(), total = t.layout().total();
  const std::vector<float>& slots = t.optimizer().slots();
  const size_t blocks = total ? slots.size() / total : 0;
  if (optimizer_->slots().size() != blocks * n) return Status::Internal(where + ": optimiser slot sizes disagree");
  gather_shard(*shard_, t.parameters().data(), values_.data());
  for (size_t b = 0; b < blocks; ++b) gather_shard(*shard_, slots.data() + b * total, optimizer_->slots().data() + b * n);
  optimizer_->set_steps(ckpt->optimizer_steps);
  st_.step = ckpt->position.step;
  st_.restored_step = st_.step;
  initialised_ = restored_ = true;
  std::fprintf(stderr, "podlab: %s: restored step %lld from %s\n", ctx_.self.name().c_str(),
               static_cast<long long>(st_.step), path->c_str());
  return Status::Ok();
}

PsStats PsServer::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return published_;
}

void PsServer::log_peers(Clock::time_point now) {
  for (const auto& [w, t] : heard_) {
    const double age = seconds_between(t, now);
    auto [it, first] = reported_silent_.emplace(w, false);
    const TaskId worker{Role::kWorker, w};
    if (first) std::fprintf(stderr, "podlab: %s: %s connected\n", ctx_.self.name().c_str(), worker.name().c_str());
    if (stopped_) continue;  // training is over: a worker falling silent now is no news, nor is one "back"
    const bool silent = age * 1000 > ctx_.plan->heartbeat_timeout_ms;
    if (silent && !it->second)
      std::fprintf(stderr, "podlab: %s: %s silent for %.1f s: dead? (training goes on if the mode allows)\n",
                   ctx_.self.name().c_str(), worker.name().c_str(), age);
    if (!silent && it->second) std::fprintf(stderr, "podlab: %s: %s is back\n", ctx_.self.name().c_str(), worker.name().c_str());
    it->second = silent;
  }
}

void PsServer::publish() {
  const Clock::time_point now = Clock::now();
  last_publish_ = now;
  if (ctx_.log_peers) log_peers(now);
  st_.heartbeat_age_s.clear();
  for (const auto& [w, t] : heard_) st_.heartbeat_age_s[TaskId{Role::kWorker, w}.name()] = seconds_between(t, now);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    published_ = st_;
  }
  if (ctx_.board) {
    TaskProgress p;
    p.step = st_.step;
    p.pushes = st_.gradients;
    p.applied = st_.applied;
    p.dropped = st_.dropped_stale;
    p.done = stopped_;
    p.state = state_text();
    p.heartbeat_age_s = st_.heartbeat_age_s;
    ctx_.board->publish(ctx_.self, p);
  }
}

// "" when serving normally; otherwise what this ps waits for, e.g. "sync step 57: 1 of 2 gradients,
// 1 live worker (worker:1 silent 4.2 s)".
std::string PsServer::state_text() const {
  if (stopped_) return "";
  if (!initialised_) return "waiting for INIT from the chief";
  const Clock::time_point now = Clock::now();
  const double timeout_s = ctx_.plan->heartbeat_timeout_ms / 1000.0;
  int live = 0;
  std::string silent;
  char buf[96];
  for (int w = 0; w < ctx_.plan->num_workers; ++w) {
    auto it = heard_.find(w);
    const double age = it == heard_.end() ? seconds_between(started_, now) : seconds_between(it->second, now);
    if (age <= timeout_s) {
      ++live;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%sworker:%d silent %.1f s", silent.empty() ? "" : ", ", w, age);
    silent += buf;
  }
  std::string text;
  if (ctx_.plan->mode.kind == SyncMode::Kind::kSync && st_.step < ctx_.plan->total_steps &&
      live < ctx_.plan->replicas_to_aggregate) {
    std::snprintf(buf, sizeof buf, "sync step %lld waits: %zu of %d gradients, %d live worker%s",
                  static_cast<long long>(st_.step), accum_.size(), ctx_.plan->replicas_to_aggregate, live, live == 1 ? "" : "s");
    text = buf;
  }
  if (st_.step >= ctx_.plan->total_steps) text = "training is over: waiting for the chief's STOP";
  if (!silent.empty()) text += (text.empty() ? "" : " (") + silent + (text.empty() ? "" : ")");
  return text;
}

// Once every worker has been told STOP, a quiet spell this long lets the last answers leave before
// the ps does (its socket closes with the process): on one machine only, where they leave at once.
// Across machines a slow link may take longer to carry the chief's final values, so a ps keeps the
// plan's full linger_ms there.
constexpr int kToldLingerMs = 300;

Status PsServer::run() {
  last_message_ = Clock::now();
  last_worker_ = last_message_;
  int64_t handled = 0;
  Status end;
  for (;;) {
    if (ctx_.stop && *ctx_.stop) {
      end = Status::Error(StatusCode::kInterrupted, ctx_.self.name() + " interrupted by a signal");
      break;
    }
    Envelope env;
    const ReceiveStatus rs = ctx_.transport->receive(ctx_.self, &env, std::chrono::milliseconds(50));
    if (rs == ReceiveStatus::kClosed) break;
    const Clock::time_point now = Clock::now();
    if (rs == ReceiveStatus::kTimeout) {
      if (stopped_ && now - last_message_ > std::chrono::milliseconds(ctx_.plan->linger_ms)) break;
      if (stopped_ && told_linger_ && everyone_told() && now - last_message_ > std::chrono::milliseconds(kToldLingerMs)) break;
      const bool none_came = heard_.empty();
      // Before the first gradient the workers may still wait for another ps to come up (the chief sends
      // INIT to one ps after another) and send nothing here: lateness, which the connect limit covers.
      const bool starting = st_.gradients == 0;
      const int limit_ms = none_came ? ctx_.plan->connect_timeout_ms
                                     : starting ? std::max(ctx_.plan->connect_timeout_ms, ctx_.plan->peer_timeout_ms)
                                                : ctx_.plan->peer_timeout_ms;
      if (!stopped_ && now - last_worker_ > std::chrono::milliseconds(limit_ms)) {
        const std::string secs = seconds_text(limit_ms);
        end = Status::Network(
            ctx_.self.name() +
            (none_came ? std::string(": no worker has come in ") + secs +
                             " s; giving up (are the workers running, with this cluster spec? --connect-timeout-s sets the limit)"
                       : std::string(": no message from any worker for ") + secs +
                             " s; giving up (are the workers running? A worker waiting on another ps that is gone sends "
                             "nothing here either. --peer-timeout-s sets the limit)"));
        break;
      }
      if (now - last_publish_ > std::chrono::milliseconds(250)) publish();
      note_silent_workers(now);
      if (job_over_) break;
      end = training_lost(now);
      if (!end.ok()) {
        give_up(end);
        break;
      }
      continue;
    }
    if (!take(env, now)) break;
    if (++handled % 8 == 0 || stopped_ || now - last_publish_ > std::chrono::milliseconds(250)) {
      publish();
      if ((!silent_workers(Clock::now()).empty() || !training_lost(Clock::now()).ok()) && !drain_queue()) break;
      note_silent_workers(Clock::now());
      if (job_over_) break;
      end = training_lost(Clock::now());
      if (!end.ok()) {
        give_up(end);
        break;
      }
    }
  }
  stopped_ = true;
  publish();
  if (ctx_.log_peers) {
    // Bad messages: those the transport dropped unseen (malformed_in) and those this ps refused.
    int64_t malformed = 0, rejected = 0, duplicates = 0;
    for (const EndpointCounters& c : ctx_.transport->counters())
      if (c.name == ctx_.self.name()) malformed = c.malformed_in, rejected = c.rejected_peers, duplicates = c.duplicates_refused;
    std::fprintf(stderr, "podlab: %s: done at step %lld: %lld gradients, %lld applied, %lld dropped stale, %lld late, %lld bad messages dropped (%lld malformed, %lld not valid here), %lld refused handshake(s), %lld worker restart(s) (of which %lld second processes refused)\n",
                 ctx_.self.name().c_str(), static_cast<long long>(st_.step), static_cast<long long>(st_.gradients),
                 static_cast<long long>(st_.applied), static_cast<long long>(st_.dropped_stale),
                 static_cast<long long>(st_.dropped_late), static_cast<long long>(malformed + st_.bad_messages),
                 static_cast<long long>(malformed), static_cast<long long>(st_.bad_messages), static_cast<long long>(rejected),
                 static_cast<long long>(st_.worker_restarts), static_cast<long long>(duplicates));
  }
  if (!lost_state_.ok()) return lost_state_;
  return send_error_.ok() ? end : send_error_;
}

bool PsServer::take(Envelope& env, Clock::time_point now) {
  const Clock::time_point before = last_message_;
  last_message_ = now;
  if (env.from.role == Role::kWorker) last_worker_ = now;
  handle(env);
  if (desk_message_) last_message_ = before;  // job traffic does not keep a stopped ps lingering
  desk_message_ = false;
  return send_error_.ok() && lost_state_.ok() && !job_over_;
}

bool PsServer::drain_queue() {
  constexpr int kMaxDrained = 1000;
  for (int i = 0; i < kMaxDrained; ++i) {
    Envelope env;
    const ReceiveStatus rs = ctx_.transport->receive(ctx_.self, &env, std::chrono::milliseconds(0));
    if (rs == ReceiveStatus::kClosed) return false;
    if (rs == ReceiveStatus::kTimeout) return true;
    if (!take(env, Clock::now())) return false;
  }
  return true;
}

void PsServer::bad_message(const TaskId& from, const Status& st) {
  if (++st_.bad_messages <= 10)
    std::fprintf(stderr, "podlab: %s: ignored a message from %s: %s\n", ctx_.self.name().c_str(), from.name().c_str(),
                 st.message().c_str());
}

void PsServer::refuse(const TaskId& to, uint32_t seq) {
  ++st_.bad_messages;
  if (refusals_logged_++ < 3)
    std::fprintf(stderr, "podlab: %s: refused %s: it was started with other training flags than this ps (%s)\n",
                 ctx_.self.name().c_str(), to.name().c_str(), plan_text_.c_str());
  send_answer(to, encode_text_message(answer_header(MessageType::kRefuse, seq), plan_text_));
}

Status PsServer::check_request(const TaskId& from, const MessageHeader& h) const {
  const std::string what = h.debug_string() + ": ";
  if (h.type == MessageType::kJob || h.type == MessageType::kResult || from.role == Role::kClient)
    return Status::Network(what + (ctx_.jobs ? "not a job message this ps takes"
                                             : "a job message, and this ps was not started with --wait-for-job"));
  if (from.role != Role::kWorker || TaskId{h.sender_role, h.sender_index} != from)
    return Status::Network(what + "the header names another sender than " + from.name());
  if (h.sender_index >= ctx_.plan->num_workers)
    return Status::Network(what + "this cluster has " + std::to_string(ctx_.plan->num_workers) + " workers");
  if (h.shard != static_cast<uint32_t>(ctx_.self.index))
    return Status::Network(what + "meant for ps:" + std::to_string(h.shard) + ", not " + ctx_.self.name());
  if (h.type == MessageType::kParams || h.type == MessageType::kRefuse)
    return Status::Network(what + "an answer, which only a ps sends");
  return check_message_range(h, ctx_.placement->num_shards(), shard_->size());
}

void PsServer::handle(Envelope& env) {
  auto decoded = decode_header(env.data(), env.size());
  if (!decoded.ok()) return bad_message(env.from, decoded.status());
  const MessageHeader& h = *decoded;
  if (ctx_.jobs) ctx_.jobs->set_progress(st_.step, ctx_.plan->total_steps);
  if (ctx_.jobs && ctx_.jobs->handle(env, h)) {
    desk_message_ = true;
    end_job_if_stuck();
    return;
  }
  // A wait-for-job ps: a training request from a worker that has not asked this run for values (PULL
  // or INIT) comes from a worker still in an earlier job (the chief of a cancelled job, evaluating
  // on, say): STOP ends that job for it, and nothing changes here (its STOP must not end this job,
  // its HEARTBEAT is no sign of life in it). A worker of this job asks first, on the same connection.
  const bool training_request = h.type == MessageType::kPush || h.type == MessageType::kStop ||
                                h.type == MessageType::kSnapshot || h.type == MessageType::kHeartbeat;
  if (ctx_.jobs && training_request && env.from.role == Role::kWorker && !last_seq_.count(h.sender_index))
    return reply(env.from, MessageType::kStop, h.seq);
  // A worker started with other training flags (its plan's fingerprint in aux): refused before the
  // range checks, which its other model or placement would fail.
  if ((h.type == MessageType::kInit || h.type == MessageType::kPull) && env.from.role == Role::kWorker &&
      TaskId{h.sender_role, h.sender_index} == env.from && h.aux != 0 && h.aux != fingerprint_) {
    refused_plan_.insert(h.sender_index);
    return refuse(env.from, h.seq);
  }
  Status range = check_request(env.from, h);
  if (!range.ok()) return bad_message(env.from, range);
  const int w = h.sender_index;
  heard_[w] = Clock::now();

  if (h.type == MessageType::kHeartbeat) {  // a sign of life only: no seq bookkeeping
    ++st_.heartbeats;
    // The chief's HEARTBEAT with a newer seq than its final SNAPSHOT: it holds the snapshot, so the
    // megabytes of the answer need not be kept from the closing socket any longer.
    if (stopped_ && env.from.role == Role::kWorker && w == 0 && final_snapshot_seq_ >= 0 && h.seq > final_snapshot_seq_) final_snapshot_ = true;
    if (stopped_) return tell_stop(env.from, h.seq);
    return reply(env.from, MessageType::kHeartbeat, h.seq);
  }
  if (h.type == MessageType::kStop) {
    stopped_ = true;
    told_stop_[w] = true;
    reply(env.from, MessageType::kParams, h.seq);  // the final values
    release_waiters();                              // everyone else: STOP
    return;
  }
  if (h.type == MessageType::kSnapshot) {  // also after STOP: the chief's final checkpoint
    if (stopped_ && w == 0) final_snapshot_seq_ = std::max<int64_t>(final_snapshot_seq_, h.seq);
    if (initialised_) reply_snapshot(env.from, h.seq);
    return;
  }
  if (h.type == MessageType::kPull || h.type == MessageType::kInit) {
    auto seen = last_seq_.find(w);
    if (seen != last_seq_.end() && h.seq < seen->second) {  // a new process: its numbering starts again
      ++st_.worker_restarts;
      if (ctx_.log_peers)  // a launcher says so itself: it restarted the worker
        std::fprintf(stderr,
                     "podlab: %s: %s came back (restarted; a second process with its --index is refused once the "
                     "first one is heard again)\n",
                     ctx_.self.name().c_str(), env.from.name().c_str());
      seen->second = h.seq;
    }
  }
  if (stopped_) {
    if (h.type == MessageType::kPush && h.seq > last_seq_[w]) {  // counted once: its re-sends are repeats
      ++st_.gradients;
      if (h.step <= st_.step) record_staleness(st_.step - h.step);
      ++st_.dropped_late;
      last_seq_[w] = h.seq;
    }
    return tell_stop(env.from, h.seq);
  }
  if (h.type == MessageType::kInit) {
    if (!initialised_) read_payload(env.data(), h, values_.data());
    initialised_ = true;  // a second INIT (a restarted chief) just gets the current values
    waiters_.push_back({Waiter::Until::kInitialised, env.from, h.seq, 0});
  } else if (h.type == MessageType::kPull) {
    waiters_.push_back({Waiter::Until::kInitialised, env.from, h.seq, 0});
  } else if (!handle_push(h, env.data())) {
    return;  // rejected: its retry must not look like a repeat
  }
  auto& last = last_seq_[w];
  last = std::max(last, h.seq);
  if (env.bytes.capacity() > spare_.capacity()) spare_ = env.reusable_buffer();  // payload consumed
  release_waiters();
}

void PsServer::record_staleness(int64_t staleness) {
  ++st_.staleness[staleness_bucket(staleness)];
  st_.max_staleness = std::max(st_.max_staleness, staleness);
  st_.staleness_sum += static_cast<double>(staleness);
}

bool PsServer::handle_push(const MessageHeader& h, const uint8_t* bytes) {
  const int w = h.sender_index;
  const SyncMode& mode = ctx_.plan->mode;
  Waiter answer{Waiter::Until::kNow, TaskId{Role::kWorker, w}, h.seq, h.step};
  if (mode.kind == SyncMode::Kind::kSync) answer.until = Waiter::Until::kStepAbove;
  if (mode.kind == SyncMode::Kind::kSsp) answer.until = Waiter::Until::kSspClock;

  auto seen = last_seq_.find(w);
  if (seen != last_seq_.end() && h.seq <= seen->second) {  // a re-sent push: answer, do not apply
    ++st_.duplicates;
    waiters_.push_back(answer);
    return true;
  }
  if (initialised_ && h.step > st_.step) {
    // Computed on a version this ps has not produced: values it had before it restarted from an
    // older checkpoint, or before it took a new INIT (from a restarted chief). Dropped; the answer
    // hands the worker this ps's values to go on from (left unanswered, its retries would carry
    // the same version for ever).
    ++st_.gradients;
    ++st_.dropped_stale;
    answer.until = Waiter::Until::kNow;
    waiters_.push_back(answer);
    return true;
  }
  if (!initialised_ && !restored_) {
    const std::string& dir = ctx_.plan->checkpoint_dir;
    lost_state_ = Status::Data(
        ctx_.self.name() + ": " + answer.to.name() + " pushed a gradient for step " + std::to_string(h.step) +
        " of a shard this ps never had: it was restarted and has no checkpoint to restore (" +
        (dir.empty() ? std::string("no --checkpoint-dir") : "none in " + dir) +
        "), so its part of the model is lost. Give every task the same --checkpoint-dir on a shared volume "
        "so a restarted ps restores the chief's latest checkpoint, or start the job again");
    return false;
  }
  if (!initialised_) {
    bad_message(answer.to, Status::Network(h.debug_string() + ": gradient before this ps has values"));
    return false;
  }
  ++st_.gradients;
  record_staleness(st_.step - h.step);
  if (mode.kind == SyncMode::Kind::kSsp) ++clock_[w];

  if (st_.step >= ctx_.plan->total_steps) {
    ++st_.dropped_late;
    answer.until = Waiter::Until::kNow;
  } else if (mode.kind == SyncMode::Kind::kSync) {
    if (h.step < st_.step || accum_.count(w)) {
      ++st_.dropped_stale;
      answer.until = Waiter::Until::kNow;
    } else {
      auto& slot = accum_[w];
      slot.first = h.aux;
      slot.second.resize(shard_->size());
      read_payload(bytes, h, slot.second.data());
      if (static_cast<int>(accum_.size()) >= ctx_.plan->replicas_to_aggregate) apply_sync_step();
    }
  } else {
    // The gradient is read where it arrived (zmq's buffer, or the sender's for inproc) when its floats
    // are aligned, else copied out first.
    const float* g = payload_floats(bytes);
    if (!g) {
      read_payload(bytes, h, grad_.data());
      g = grad_.data();
    }
    optimizer_->step(values_.data(), g);
    ++st_.step;
    ++st_.applied;
    st_.samples_applied += h.aux;
  }
  waiters_.push_back(answer);
  return true;
}

// The sample-weighted mean of the accepted gradients, summed in worker order:
// g = sum_i (n_i / sum_j n_j) g_i. Each g_i is a mean over its n_i samples, so g is the mean over all
// of them, as one worker with the combined batch would compute (a lone gradient passes unchanged).
void PsServer::apply_sync_step() {
  double total = 0;
  for (const auto& [w, slot] : accum_) total += slot.first;
  if (total > 0) {
    const size_t n = shard_->size();
    sum_.resize(n);
    bool first = true;
    for (const auto& [w, slot] : accum_) {
      const float weight = static_cast<float>(slot.first / total);  // exactly 1 for a lone gradient
      const float* g = slot.second.data();
      if (first) {
        for (size_t i = 0; i < n; ++i) sum_[i] = weight * g[i];
      } else {
        for (size_t i = 0; i < n; ++i) sum_[i] += weight * g[i];
      }
      first = false;
    }
    optimizer_->step(values_.data(), sum_.data());
  }
  st_.applied += static_cast<int64_t>(accum_.size());
  st_.samples_applied += static_cast<int64_t>(total);
  ++st_.step;
  accum_.clear();
}

bool PsServer::ready(const Waiter& w) const {
  if (stopped_) return true;
  switch (w.until) {
    case Waiter::Until::kNow: return true;
    case Waiter::Until::kInitialised: return initialised_;
    case Waiter::Until::kStepAbove: return st_.step > w.step || st_.step >= ctx_.plan->total_steps;
    case Waiter::Until::kSspClock: {
      if (st_.step >= ctx_.plan->total_steps) return true;
      const int64_t slowest = *std::min_element(clock_.begin(), clock_.end());
      return clock_[w.to.index] - slowest <= ctx_.plan->mode.staleness;
    }
  }
  return true;
}

void PsServer::release_waiters() {
  std::vector<Waiter> still;
  for (const Waiter& w : waiters_) {
    if (!ready(w)) {
      still.push_back(w);
      continue;
    }
    if (stopped_)
      tell_stop(w.to, w.seq);
    else
      reply(w.to, MessageType::kParams, w.seq);
  }
  waiters_.swap(still);
}

// Values then optimiser slots, (1 + blocks) x shard floats; aux = blocks.
void PsServer::reply_snapshot(const TaskId& to, uint32_t seq) {
  const size_t n = values_.size();
  const std::vector<float>& slots = optimizer_->slots();
  const size_t blocks = optimizer_->slots_per_param();  // also from an empty shard: the chief checks it
  sum_.resize(n * (1 + blocks));
  std::copy(values_.begin(), values_.end(), sum_.begin());
  std::copy(slots.begin(), slots.end(), sum_.begin() + static_cast<std::ptrdiff_t>(n));
  MessageHeader h = answer_header(MessageType::kSnapshot, seq);
  h.aux = static_cast<uint32_t>(blocks);
  h.count = static_cast<uint32_t>(sum_.size());
  send_answer(to, encode_message(h, sum_.data()));
}

bool PsServer::everyone_told() const {
  if (!ctx_.plan->checkpoint_dir.empty() && !final_snapshot_) return false;
  return std::all_of(told_stop_.begin(), told_stop_.end(), [](bool t) { return t; });
}

// A wait-for-job ps: once its desk says the job is over (the chief's report; at ps 1..N-1 the client's)
// the run ends, and so do the requests still waiting. ps 0 also ends the job when workers that failed
// it (reported, or silent past peer_timeout_ms) are ones the mode cannot train on without; not once
// training is over (STOP): then the chief's report is due, and lists the failures.
void PsServer::end_job_if_stuck() {
  if (!ctx_.jobs || job_over_) return;
  const TrainingPlan& p = *ctx_.plan;
  const int failed = ctx_.jobs->workers_failed();  // only ps 0 hears of failures
  // Without the chief nothing initialises the values, evaluates or ends the job, whatever the mode.
  const bool chief_failed = ctx_.jobs->failed(TaskId{Role::kWorker, 0});
  if (!stopped_ && failed > 0 && !ctx_.jobs->job_over() &&
      (chief_failed || !trains_on_with(p.mode, p.replicas_to_aggregate, p.num_workers - failed))) {
    std::string reason;
    if (chief_failed) {
      reason = "the chief (worker 0) failed, and without it nothing initialises, evaluates or ends the job: "
               "start its server again, then submit the job again";
    } else {
      reason = p.mode.to_string() + " training cannot go on without " + std::to_string(failed) + " of its " +
               std::to_string(p.num_workers) + " workers";
      if (p.mode.kind == SyncMode::Kind::kSync)
        reason += " (it aggregates " + std::to_string(p.replicas_to_aggregate) + " a step)";
      reason += ": fix the failed worker" + std::string(failed > 1 ? "s" : "") + ", or submit with --mode async" +
                (p.mode.kind == SyncMode::Kind::kSync ? " or a smaller --replicas-to-aggregate" : "");
    }
    std::fprintf(stderr, "podlab: %s: ending the job: %s\n", ctx_.self.name().c_str(), reason.c_str());
    ctx_.jobs->abort_job(reason);
  }
  job_over_ = ctx_.jobs->job_over();
  if (job_over_) {  // requests still waiting will not be answered by this run: they end too
    for (const Waiter& w : waiters_) tell_stop(w.to, w.seq);
    waiters_.clear();
  }
}

std::vector<int> PsServer::silent_workers(Clock::time_point now) const {
  std::vector<int> silent;
  if (!ctx_.jobs || ctx_.self.index != 0 || stopped_ || job_over_) return silent;
  for (int w = 0; w < ctx_.plan->num_workers; ++w)
    if (worker_lost(w, now, ctx_.plan->peer_timeout_ms) && !silent_failed_.count(w)) silent.push_back(w);
  return silent;
}

int PsServer::come_ms() const {
  // Worker threads start with the ps and share its data (cluster run has no --connect-timeout-s then).
  return ctx_.transport->name() == "inproc" ? ctx_.plan->peer_timeout_ms : ctx_.plan->connect_timeout_ms;
}

bool PsServer::worker_lost(int w, Clock::time_point now, int came_ms) const {
  auto it = heard_.find(w);
  if (it == heard_.end()) return now - started_ > std::chrono::milliseconds(come_ms());
  return now - it->second > std::chrono::milliseconds(came_ms);
}

void PsServer::note_silent_workers(Clock::time_point now) {
  if (!ctx_.jobs || ctx_.self.index != 0 || stopped_ || job_over_) return;
  for (int w : silent_workers(now)) {
    silent_failed_.insert(w);
    const bool came = heard_.count(w) > 0;
    const std::string secs = seconds_text(came ? ctx_.plan->peer_timeout_ms : ctx_.plan->connect_timeout_ms);
    const TaskId t{Role::kWorker, w};
    ctx_.jobs->add_failure(t, static_cast<int>(StatusCode::kNetwork),
                           came ? "ps:0 has not heard from " + t.name() + " for " + secs + " s (killed, or its machine is unreachable)"
                                : "ps:0 has not heard from " + t.name() + " in the " + secs +
                                      " s since the job started (its server is not running, or --connect-timeout-s is too short "
                                      "for it to load the data)");
  }
  end_job_if_stuck();
}

Status PsServer::training_lost(Clock::time_point now) const {
  if (ctx_.jobs || stopped_) return Status::Ok();
  const int came_ms = std::max(ctx_.plan->peer_timeout_ms, ctx_.plan->connect_timeout_ms);
  if (!worker_lost(0, now, came_ms)) return needed_workers_lost(now);
  const bool came = heard_.count(0) > 0;
  const std::string secs = seconds_text(came ? came_ms : come_ms());
  if (!came && refused_plan_.count(0))
    return Status::Config(ctx_.self.name() + ": the chief (worker 0) came with other training flags and was refused, and "
                          "without it nothing initialises, evaluates or ends training; giving up after " + secs +
                          " s (start the chief with this ps's training flags: its error names the ones that differ)");
  if (!came)
    return Status::Network(ctx_.self.name() + ": the chief (worker 0) has not come in " + secs +
                           " s, and without it nothing initialises, evaluates or ends training; giving up (start it with "
                           "this cluster spec; " + (ctx_.transport->name() == "inproc" ? "--peer-timeout-s" : "--connect-timeout-s") +
                           " sets the limit)");
  return Status::Network(ctx_.self.name() + ": the chief (worker 0) has been silent for " + secs +
                         " s (killed, or its machine is unreachable), and without it nothing evaluates, checkpoints or "
                         "ends training; giving up (a chief restarted in time carries on from the ps tasks' values; "
                         "--peer-timeout-s and --connect-timeout-s set the limit)");
}

Status PsServer::needed_workers_lost(Clock::time_point now) const {
  const TrainingPlan& p = *ctx_.plan;
  if (st_.step >= p.total_steps) return Status::Ok();  // only the chief's STOP is still due
  // The chief's limits where a restarted worker process loads its data first; worker threads share
  // the data and are not restarted.
  const bool threads = ctx_.transport->name() == "inproc";
  const int came_ms = threads ? p.peer_timeout_ms : std::max(p.peer_timeout_ms, p.connect_timeout_ms);
  std::string names;
  int lost = 0;
  for (int w = 1; w < p.num_workers; ++w) {
    if (!worker_lost(w, now, came_ms)) continue;
    const bool came = heard_.count(w) > 0;
    ++lost;
    names += (names.empty() ? "" : ", ") + TaskId{Role::kWorker, w}.name() +
             (came ? " (silent for more than " + seconds_text(came_ms) + " s)"
                   : " (not come in " + seconds_text(come_ms()) + " s)");
  }
  if (lost == 0 || trains_on_with(p.mode, p.replicas_to_aggregate, p.num_workers - lost)) return Status::Ok();
  std::string reason = ctx_.self.name() + ": " + p.mode.to_string() + " training cannot go on without " + names;
  if (p.mode.kind == SyncMode::Kind::kSync)
    reason += " (each step aggregates " + std::to_string(p.replicas_to_aggregate) + " of " +
              std::to_string(p.num_workers) + " workers' gradients)";
  return Status::Network(reason + "; giving up (" +
                         (threads ? "--peer-timeout-s sets the limit; "
                                  : "a worker restarted in time rejoins; --peer-timeout-s and --connect-timeout-s set the limits; ") +
                         (p.mode.kind == SyncMode::Kind::kSync ? "backup workers (--replicas-to-aggregate below --workers) or "
                                                                : "") +
                         "--mode async trains on without a worker)");
}

void PsServer::give_up(const Status& why) {
  const std::string report =
      nlohmann::json{{"code", static_cast<int>(why.code())}, {"message", why.message()}, {"gave_up", true}}.dump();
  std::set<int> told;
  Clock::time_point last_refusal = Clock::now();
  auto refuse_with_report = [&](const TaskId& to, uint32_t seq) {
    send_answer(to, encode_text_message(answer_header(MessageType::kRefuse, seq), report));
    told.insert(to.index);
    last_refusal = Clock::now();
  };
  for (const Waiter& w : waiters_) refuse_with_report(w.to, w.seq);
  waiters_.clear();
  // Workers busy computing ask later: answered the same until each has been told, for linger_ms at
  // most, and then kToldLingerMs more, so the last answers leave before the socket closes.
  const auto until = Clock::now() + std::chrono::milliseconds(ctx_.plan->linger_ms);
  // The workers still alive (heard within peer_timeout_ms; not the lost chief or workers) are told.
  const Clock::time_point gave_up_at = Clock::now();
  auto untold = [&] {
    for (const auto& [w, t] : heard_)
      if (gave_up_at - t <= std::chrono::milliseconds(ctx_.plan->peer_timeout_ms) && !told.count(w)) return true;
    return false;
  };
  while (Clock::now() < until && !(ctx_.stop && *ctx_.stop)) {
    if (!untold() && Clock::now() - last_refusal > std::chrono::milliseconds(kToldLingerMs)) break;
    Envelope env;
    const ReceiveStatus rs = ctx_.transport->receive(ctx_.self, &env, std::chrono::milliseconds(50));
    if (rs == ReceiveStatus::kClosed) break;
    if (rs != ReceiveStatus::kMessage) continue;
    auto h = decode_header(env.data(), env.size());
    if (h.ok() && env.from.role == Role::kWorker && check_request(env.from, *h).ok()) refuse_with_report(env.from, h->seq);
  }
}

void PsServer::tell_stop(const TaskId& to, uint32_t seq) {
  if (to.role == Role::kWorker && to.index < static_cast<int>(told_stop_.size())) told_stop_[to.index] = true;
  reply(to, MessageType::kStop, seq);
}

MessageHeader PsServer::answer_header(MessageType type, uint32_t seq) const {
  MessageHeader h;
  h.type = type;
  h.sender_role = Role::kPs;
  h.sender_index = static_cast<uint16_t>(ctx_.self.index);
  h.shard = static_cast<uint32_t>(ctx_.self.index);
  h.step = st_.step;
  h.seq = seq;
  h.count = type == MessageType::kParams ? static_cast<uint32_t>(values_.size()) : 0;
  return h;
}

void PsServer::send_answer(const TaskId& to, Bytes bytes) {
  Status st = ctx_.transport->send(ctx_.self, to, std::move(bytes));
  if (!st.ok() && st.code() != StatusCode::kNetwork && send_error_.ok()) send_error_ = st;
}

void PsServer::reply(const TaskId& to, MessageType type, uint32_t seq) {
  const MessageHeader h = answer_header(type, seq);
  Bytes b = std::move(spare_);  // the buffer of the last message received, if still unused
  const size_t need = kHeaderBytes + sizeof(float) * h.count;
  if (b.capacity() < need) b = ctx_.transport->reuse_buffer(need);
  encode_message_into(h, values_.data(), &b);
  send_answer(to, std::move(b));
}

}  // namespace podlab
