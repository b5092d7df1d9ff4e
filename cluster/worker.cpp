// The worker loop: exchange() is the only place that talks to the ps tasks; run() is the recipe.
#include "cluster/worker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/train_loop.h"

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// "batch: 100 here, 50 on ps:0; total_steps: ..." for the fields of two plan_agreement_text()s that differ.
std::string plan_differences(const std::string& mine, const std::string& theirs, const std::string& their_name) {
  auto fields = [](const std::string& text) {
    std::map<std::string, std::string> f;
    std::istringstream in(text);
    std::string item;
    while (in >> item) {
      const size_t eq = item.find('=');
      if (eq != std::string::npos) f[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return f;
  };
  const auto a = fields(mine), b = fields(theirs);
  std::string out;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    const std::string other = it == b.end() ? "(none)" : it->second;
    if (other != value) out += (out.empty() ? "" : "; ") + key + ": " + value + " here, " + other + " on " + their_name;
    if (other != value && key == "train_labels")  // a checksum: say what it means
      out += " (they read different training data: give every task the same --dataset, --data and --limit-train)";
  }
  return out.empty() ? "the plans differ" : out;
}

}  // namespace

uint64_t worker_seed(uint64_t seed, int worker) {
  return worker == 0 ? seed : derive_seed(seed, 0x3C1A5EEDull, static_cast<uint64_t>(worker));
}

Result<std::unique_ptr<Worker>> Worker::create(const Context& ctx) {
  if (ctx.self.role != Role::kWorker || ctx.self.index >= ctx.plan->num_workers || !ctx.data)
    return Status::Internal(ctx.self.name() + " is not a worker of this plan, or has no data");
  std::unique_ptr<Worker> w(new Worker(ctx));
  w->seed_ = worker_seed(ctx.plan->train.seed, ctx.self.index);
  TrainConfig tc = ctx.plan->train;
  tc.seed = w->seed_;
  auto g = BatchGradient::create(tc, ctx.data->input_shape(), ctx.data->num_classes);
  if (!g.ok()) return g.status();
  w->grad_ = std::move(*g);
  if (w->grad_->layout().total() != ctx.placement->total)
    return Status::Internal("the placement was made for a different model");
  if (w->is_chief()) {
    auto t = Trainer::create(ctx.plan->train, ctx.data->input_shape(), ctx.data->num_classes);
    if (!t.ok()) return t.status();
    w->trainer_ = std::move(*t);
  }
  w->versions_.assign(ctx.placement->num_shards(), 0);
  w->heard_.assign(ctx.placement->num_shards(), Clock::now());
  w->hb_sent_.assign(ctx.placement->num_shards(), Clock::now());
  w->st_.index = ctx.self.index;
  w->plan_text_ = plan_agreement_text(*ctx.plan, *ctx.placement);
  w->fingerprint_ = plan_fingerprint(w->plan_text_);
  return w;
}

namespace {
// "ps:1 at 10.0.0.2:2222" over the network; "ps:1" among threads, which have no address.
std::string ps_where(const Transport& t, const TaskId& ps) {
  return t.name() == "inproc" ? ps.name() : ps.name() + " at " + t.config().cluster.address(ps);
}

// Whether a REFUSE's text is a final report, whatever request it answers: of a ps that gave up on
// training (`"gave_up": true`), or refusing a second process with this worker's index
// (`"duplicate": true`, from the zmq transport).
bool gave_up_report(const std::string& text) {
  if (text.empty() || text[0] != '{') return false;
  try {
    const auto r = nlohmann::json::parse(text);
    return r.value("gave_up", false) || r.value("duplicate", false);
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

Status Worker::refused(const TaskId& ps, const std::string& ps_plan) const {
  // A report: from a wait-for-job ps that could not start this job, or from a ps that gave up on
  // training ("gave_up": its chief was lost, say).
  if (!ps_plan.empty() && ps_plan[0] == '{') {
    int code = static_cast<int>(StatusCode::kInternal);
    std::string message = ps_plan;
    bool gave_up = false, duplicate = false;
    try {
      const auto r = nlohmann::json::parse(ps_plan);
      code = r.at("code").get<int>();
      message = r.at("message").get<std::string>();
      gave_up = r.value("gave_up", false);
      duplicate = r.value("duplicate", false);
    } catch (const std::exception&) {
    }
    if (code == 0) code = static_cast<int>(StatusCode::kInternal);
    if (gave_up && message.rfind(ps.name() + ": ", 0) == 0) message.erase(0, ps.name().size() + 2);
    const char* what = duplicate ? " refused this process: " : gave_up ? " gave up: " : " could not start this job: ";
    return Status::Error(static_cast<StatusCode>(code), ps_where(*ctx_.transport, ps) + what + message);
  }
  return Status::Config(ps_where(*ctx_.transport, ps) + " refused " + ctx_.self.name() +
                        ": they were started with different training flags (" +
                        plan_differences(plan_text_, ps_plan, ps.name()) +
                        "). Give every ps and worker of a job the same training flags");
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return published_;
}

void Worker::publish(bool done) {
  const Clock::time_point now = Clock::now();
  st_.heartbeat_age_s.clear();
  std::string silent;
  for (size_t k = 0; k < heard_.size(); ++k) {
    const double age = std::chrono::duration<double>(now - heard_[k]).count();
    st_.heartbeat_age_s["ps:" + std::to_string(k)] = age;
    if (!done && age * 1000 > ctx_.plan->heartbeat_timeout_ms) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%sps:%zu silent %.1f s", silent.empty() ? "" : ", ", k, age);
      silent += buf;
    }
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    published_ = st_;
  }
  if (!ctx_.board) return;
  TaskProgress p;
  p.step = global_step();
  p.pushes = st_.pushes;
  p.applied = st_.samples;
  p.dropped = st_.retries;
  p.loss = loss_window_n_ ? loss_window_ / loss_window_n_ : st_.train_loss;
  p.compute_s = st_.compute_s;
  p.wait_s = st_.wait_s;
  p.done = done;
  p.state = silent;
  p.heartbeat_age_s = st_.heartbeat_age_s;
  ctx_.board->publish(ctx_.self, p);
  loss_window_ = 0;
  loss_window_n_ = 0;
}

int64_t Worker::global_step() const { return *std::min_element(versions_.begin(), versions_.end()); }

Status Worker::exchange(MessageType type, const float* flat, uint32_t samples, bool* stop) {
  PODLAB_RETURN_IF_ERROR(send(type, flat, samples, stop));
  return *stop ? Status::Ok() : finish(stop);
}

// Messages are encoded into the buffers of the last answers (no allocation in steady state) and
// moved into the transport; a retry encodes them again.
Status Worker::send_to(int k, MessageType t) {
  const Placement& pl = *ctx_.placement;
  MessageHeader h;
  h.type = t;
  h.sender_role = Role::kWorker;
  h.sender_index = static_cast<uint16_t>(ctx_.self.index);
  h.shard = static_cast<uint32_t>(k);
  h.step = t == req_.type ? req_.versions[k] : versions_[k];  // a HEARTBEAT: the version held
  h.seq = seq_;
  h.aux = t == MessageType::kPush ? req_.samples : 0;
  if (t == MessageType::kInit || t == MessageType::kPull) h.aux = fingerprint_;  // the ps refuses another plan
  const float* floats = nullptr;
  if ((req_.type == MessageType::kInit || req_.type == MessageType::kPush) && t == req_.type) {
    const Shard& sh = pl.shards[k];
    h.count = static_cast<uint32_t>(sh.size());
    if (sh.pieces.size() == 1) {
      floats = req_.flat + sh.pieces[0].begin;  // contiguous: no gather copy
    } else {
      shard_buf_.resize(sh.size());
      gather_shard(sh, req_.flat, shard_buf_.data());
      floats = shard_buf_.data();
    }
  }
  Bytes b = std::move(spare_[k]);
  const size_t need = kHeaderBytes + sizeof(float) * h.count;
  if (b.capacity() < need) b = ctx_.transport->reuse_buffer(need);
  encode_message_into(h, floats, &b);
  hb_sent_[k] = Clock::now();
  return ctx_.transport->send(ctx_.self, TaskId{Role::kPs, k}, std::move(b));
}

Status Worker::send(MessageType type, const float* flat, uint32_t samples, bool* stop, const std::vector<int64_t>* computed_on) {
  // A ps's silence counts from here, when this worker turns back to its ps tasks: while it computed
  // or evaluated (for longer than --peer-timeout-s, say) it read nothing, not even an answer already
  // waiting (with --overlap, the one to its last push).
  const Clock::time_point now = Clock::now();
  for (auto& heard : heard_) heard = std::max(heard, now);
  if (req_.active) {
    PODLAB_RETURN_IF_ERROR(finish(stop));
    if (*stop) return Status::Ok();
  }
  const int shards = ctx_.placement->num_shards();
  ++seq_;
  stop_sent_ = stop_sent_ || type == MessageType::kStop;
  keep_alive_failed_ = false;
  req_.type = type;
  req_.flat = flat;
  req_.samples = samples;
  req_.versions = computed_on ? *computed_on : versions_;
  req_.pending.assign(shards, true);
  req_.left = shards;
  spare_.resize(shards);
  req_.active = true;
  for (int k = 0; k < shards; ++k) {
    Status st = send_to(k, type);
    if (!st.ok()) {
      req_.active = false;
      return st;
    }
  }
  // A send waits (up to --connect-timeout-s) for a ps not connected yet, one that is starting late,
  // say: meanwhile this worker read nothing from the others, so their silence counts from here too.
  const Clock::time_point sent = Clock::now();
  for (auto& heard : heard_) heard = std::max(heard, sent);
  req_.wait = std::chrono::milliseconds(ctx_.plan->retry_ms);
  req_.retry_at = Clock::now() + req_.wait;
  req_.tries = 1;
  return Status::Ok();
}

Status Worker::finish(bool* stop) {
  if (!req_.active) return Status::Ok();
  struct Over {  // however finish() returns, the request is no longer in flight
    bool& active;
    ~Over() { active = false; }
  } over{req_.active};
  const Placement& pl = *ctx_.placement;
  const TrainingPlan& plan = *ctx_.plan;
  const int shards = pl.num_shards();
  const MessageType type = req_.type;
  // A re-sent request may wait at its ps (a sync step, the chief's STOP) without an answer, so it
  // does not put off the next HEARTBEAT, whose answer proves the ps alive.
  auto send_pending = [&]() -> Status {
    for (int k = 0; k < shards; ++k) {
      if (!req_.pending[k]) continue;
      const Clock::time_point hb = hb_sent_[k];
      PODLAB_RETURN_IF_ERROR(send_to(k, type));
      hb_sent_[k] = hb;
    }
    return Status::Ok();
  };
  const auto heartbeat = std::chrono::milliseconds(plan.heartbeat_ms);
  const auto peer_timeout = std::chrono::milliseconds(plan.peer_timeout_ms);
  while (req_.left > 0) {
    if (interrupted()) return Status::Error(StatusCode::kInterrupted, ctx_.self.name() + " interrupted by a signal");
    // Every ps we wait on hears from us at least every heartbeat_ms, and must answer something (a
    // HEARTBEAT at least) within peer_timeout.
    Clock::time_point now = Clock::now(), wake = req_.retry_at;
    for (int k = 0; k < shards; ++k) {
      if (!req_.pending[k]) continue;
      if (now - heard_[k] > peer_timeout) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", plan.peer_timeout_ms / 1000.0);
        return Status::Network(ps_where(*ctx_.transport, TaskId{Role::kPs, k}) +
                               " has not answered for " + secs + " s (not even a HEARTBEAT); giving up" +
                               (ctx_.transport->name() == "inproc"
                                    ? std::string()
                                    : ": it hangs or its machine is unreachable"));
      }
      if (now - hb_sent_[k] >= heartbeat) {
        PODLAB_RETURN_IF_ERROR(send_to(k, MessageType::kHeartbeat));
        ++st_.heartbeats;
        now = Clock::now();
      }
      wake = std::min(wake, hb_sent_[k] + heartbeat);
    }
    const auto slice = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(wake - now));
    Envelope env;
    // The payload checksum is checked here, while copying the floats out (one pass, not two).
    const ReceiveStatus rs = ctx_.transport->receive(ctx_.self, &env, slice, PayloadCheck::kByReader);
    if (rs == ReceiveStatus::kClosed) return Status::Network("transport closed before training was over");
    if (rs == ReceiveStatus::kTimeout) {
      // The chief may be waiting on workers that will never push (sync or ssp with a dead worker):
      // an interrupt then goes straight to STOP, which the ps tasks answer whatever they wait for.
      if (is_chief() && type == MessageType::kPush && ctx_.observer &&
          (ctx_.observer->should_stop() || ctx_.observer->should_leave()))
        return Status::Ok();
      if (Clock::now() < req_.retry_at) continue;
      // A STOP to a ps that has gone (it lingers after the first one) gets no answer: give up then.
      if ((type == MessageType::kStop || type == MessageType::kSnapshot) && req_.tries >= 5)
        return Status::Network(std::string("no answer to ") + message_type_name(type) + " from a ps after " +
                               std::to_string(req_.tries) + " tries");
      ++st_.retries;
      ++req_.tries;
      req_.wait = std::min(req_.wait * 2, std::chrono::milliseconds(8 * plan.retry_ms));
      req_.retry_at = Clock::now() + req_.wait;
      PODLAB_RETURN_IF_ERROR(send_pending());
      continue;
    }
    const std::optional<MessageHeader> h = ps_header(env);
    if (!h)
      continue;  // corrupt or misdirected
    const int k = static_cast<int>(h->shard);
    heard_[k] = Clock::now();
    if (h->type == MessageType::kRefuse && h->seq != seq_) {
      // A ps that gave up answers whatever it hears, a HEARTBEAT sent while evaluating too: final.
      if (env.check_payload() && gave_up_report(read_text(env.data(), *h))) return refused(env.from, read_text(env.data(), *h));
      continue;
    }
    if (h->seq != seq_ || !req_.pending[k] || h->type == MessageType::kHeartbeat)
      continue;  // a sign of life, or an answer to an earlier (re-sent) request
    if (!check_message_range(*h, shards, pl.shards[k].size()).ok()) continue;
    if (h->type == MessageType::kStop) {
      *stop = true;
      return Status::Ok();
    }
    const bool answer = h->type == (type == MessageType::kSnapshot ? MessageType::kSnapshot : MessageType::kParams);
    if (h->type != MessageType::kRefuse && !answer) continue;
    const auto corrupt = [&] {
      ctx_.transport->reject(ctx_.self, env.from.name() + ": " + h->debug_string() + ": payload checksum mismatch");
    };
    if (h->type == MessageType::kRefuse) {
      if (!env.check_payload()) {
        corrupt();
        continue;
      }
      return refused(env.from, read_text(env.data(), *h));
    }
    // A corrupt answer leaves garbage where its floats were copied; the request stays pending (the
    // values are read only once every shard has answered) and the retry brings a whole one.
    const Shard& sh = pl.shards[k];
    const size_t n = sh.size();
    if (sh.pieces.size() == 1 && h->type == MessageType::kParams) {
      if (!env.copy_payload(*h, grad_->values().data() + sh.pieces[0].begin)) {
        corrupt();
        continue;
      }
    } else {
      shard_buf_.resize(h->count);
      if (!env.copy_payload(*h, shard_buf_.data())) {
        corrupt();
        continue;
      }
      scatter_shard(sh, shard_buf_.data(), grad_->values().data());
      if (h->type == MessageType::kSnapshot) {  // then h->aux blocks of optimiser slots
        // checkpoint() sized snapshot_slots_ from the chief's own optimiser; every ps, even one with
        // an empty shard, must send that many blocks, so no reply can resize away another's slots.
        const size_t total = grad_->values().size();
        const size_t blocks = snapshot_slots_.size() / total;
        if (h->aux != blocks)
          return Status::Internal(env.from.name() + " sent " + std::to_string(h->aux) +
                                  " blocks of optimiser slots in its SNAPSHOT; the chief's optimiser has " +
                                  std::to_string(blocks));
        for (size_t b = 0; b < h->aux; ++b)
          scatter_shard(sh, shard_buf_.data() + (b + 1) * n, snapshot_slots_.data() + b * total);
      }
    }
    versions_[k] = h->step;
    spare_[k] = env.reusable_buffer();
    req_.pending[k] = false;
    --req_.left;
  }
  return Status::Ok();
}

Status Worker::checkpoint(bool only_if_due, bool* stop) {
  const TrainingPlan& p = *ctx_.plan;
  if (!is_chief() || p.checkpoint_dir.empty()) return Status::Ok();
  const int64_t step = global_step();
  if (only_if_due) {
    const bool by_steps = p.checkpoint_every_steps > 0 && step >= ckpt_step_ + p.checkpoint_every_steps;
    const bool by_time = p.checkpoint_secs > 0 && seconds_since(ckpt_time_) >= p.checkpoint_secs;
    if (!by_steps && !by_time) return Status::Ok();
  }
  // The chief's own trainer carries the snapshot into the engine's checkpoint format.
  Trainer& t = *trainer_;
  snapshot_slots_.assign(t.optimizer().slots().size(), 0.0f);
  PODLAB_RETURN_IF_ERROR(exchange(MessageType::kSnapshot, nullptr, 0, stop));
  if (*stop) return Status::Ok();
  std::copy(grad_->values().begin(), grad_->values().end(), t.parameters().begin());
  std::copy(snapshot_slots_.begin(), snapshot_slots_.end(), t.optimizer().slots().begin());
  const int64_t snap_step = global_step();
  t.optimizer().set_steps(snap_step);
  TrainPosition pos;
  pos.step = snap_step;
  pos.epoch = static_cast<int>(snap_step / p.steps_per_epoch);
  pos.batch_in_epoch = static_cast<int>(snap_step % p.steps_per_epoch);
  t.set_position(pos);
  const Checkpoint ckpt = capture_checkpoint(t, p.dataset, ctx_.data->input_shape(), ctx_.data->num_classes);
  auto path = save_checkpoint_in_dir(p.checkpoint_dir, ckpt);
  if (!path.ok()) return path.status().With("chief checkpoint");
  ckpt_step_ = step;
  ckpt_time_ = Clock::now();
  ++st_.checkpoints;
  if (ctx_.observer) ctx_.observer->on_checkpoint(*path, snap_step);
  return Status::Ok();
}

// The chief is being taken away while training goes on: it saves the ps state (no STOP, so the ps
// tasks and the other workers keep going) and ends with kPreempted, which the rendered Kubernetes
// failure policies retry; the replacement chief's INIT gets the ps tasks' current values.
Status Worker::leave(Clock::time_point t0) {
  bool stop = false;
  Status s = checkpoint(false, &stop);
  result_.preempted = true;
  result_.steps = global_step();
  result_.epochs_completed = static_cast<int>(result_.steps / ctx_.plan->steps_per_epoch);
  result_.seconds = seconds_since(t0);
  if (!s.ok()) return s.With(ctx_.self.name() + " terminated: the checkpoint before leaving failed");
  char what[200];
  std::snprintf(what, sizeof what, "%s terminated at step %lld: %s; the ps tasks go on, for a replacement chief to resume",
                ctx_.self.name().c_str(), static_cast<long long>(result_.steps),
                ctx_.plan->checkpoint_dir.empty() ? "no --checkpoint-dir, so no checkpoint" : "checkpointed the ps state");
  return Status::Error(StatusCode::kPreempted, what);
}

int Worker::next_batch(int64_t step, std::vector<int>* idx) {
  const TrainingPlan& p = *ctx_.plan;
  const int n_all = static_cast<int>(p.train_count), b = p.train.batch;
  int start = 0, n = 0;
  if (p.mode.kind == SyncMode::Kind::kSync) {
    const int epoch = static_cast<int>(step / p.steps_per_epoch);
    const int64_t k = step % p.steps_per_epoch;
    if (order_epoch_ != epoch) order_ = epoch_order(p.train.seed, epoch, n_all);
    order_epoch_ = epoch;
    const int64_t s = k * p.num_workers * b + static_cast<int64_t>(ctx_.self.index) * b;
    start = static_cast<int>(std::min<int64_t>(s, n_all));
    n = std::max(0, std::min(b, n_all - start));
  } else {
    const int per_epoch = (n_all + b - 1) / b;
    if (local_batch_ >= per_epoch) {
      ++local_epoch_;
      local_batch_ = 0;
    }
    if (order_epoch_ != local_epoch_) order_ = epoch_order(seed_, local_epoch_, n_all);
    order_epoch_ = local_epoch_;
    start = local_batch_++ * b;
    n = std::min(b, n_all - start);
  }
  idx->assign(order_.begin() + start, order_.begin() + start + n);
  return n;
}

Status Worker::wait_for_stop() {
  const TrainingPlan& plan = *ctx_.plan;
  const int shards = ctx_.placement->num_shards();
  const auto heartbeat = std::chrono::milliseconds(plan.heartbeat_ms);
  const auto peer_timeout = std::chrono::milliseconds(plan.peer_timeout_ms);
  const Clock::time_point start = Clock::now();
  for (auto& heard : heard_) heard = std::max(heard, start);
  for (;;) {
    if (interrupted()) return Status::Error(StatusCode::kInterrupted, ctx_.self.name() + " interrupted by a signal");
    Clock::time_point now = Clock::now(), wake = now + heartbeat;
    for (int k = 0; k < shards; ++k) {
      if (now - heard_[k] > peer_timeout) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", plan.peer_timeout_ms / 1000.0);
        return Status::Network(ps_where(*ctx_.transport, TaskId{Role::kPs, k}) +
                               " has not answered for " + secs + " s (not even a HEARTBEAT) while this worker waited for the "
                               "chief's STOP; giving up");
      }
      if (now - hb_sent_[k] >= heartbeat) {
        PODLAB_RETURN_IF_ERROR(send_to(k, MessageType::kHeartbeat));
        ++st_.heartbeats;
        now = Clock::now();
      }
      wake = std::min(wake, hb_sent_[k] + heartbeat);
    }
    Envelope env;
    const auto slice = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(wake - now));
    const ReceiveStatus rs = ctx_.transport->receive(ctx_.self, &env, slice);
    if (rs == ReceiveStatus::kClosed) return Status::Network("transport closed before training was over");
    if (rs == ReceiveStatus::kTimeout) continue;
    const std::optional<MessageHeader> h = ps_header(env);
    if (!h)
      continue;  // corrupt or misdirected
    heard_[h->shard] = Clock::now();
    if (h->type == MessageType::kStop) return Status::Ok();
    if (h->type == MessageType::kRefuse && env.check_payload()) {
      const std::string text = read_text(env.data(), *h);
      if (h->seq == seq_ || gave_up_report(text)) return refused(env.from, text);
    }
  }
}

std::optional<MessageHeader> Worker::ps_header(const Envelope& env) const {
  auto h = decode_header(env.data(), env.size());
  if (!h.ok() || env.from.role != Role::kPs || h->shard >= static_cast<uint32_t>(ctx_.placement->num_shards()) ||
      env.from.index != static_cast<int>(h->shard))
    return std::nullopt;
  return *h;
}

void Worker::confirm_final_snapshot() {
  const TrainingPlan& plan = *ctx_.plan;
  const int shards = ctx_.placement->num_shards();
  ++seq_;
  std::vector<bool> answered(static_cast<size_t>(shards), false);
  int left = shards;
  const auto resend = std::chrono::milliseconds(plan.retry_ms);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(std::min(plan.peer_timeout_ms, 3000));
  std::vector<Clock::time_point> sent(static_cast<size_t>(shards));
  while (left > 0) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) return;
    for (int k = 0; k < shards; ++k) {
      if (answered[k] || now - sent[k] < resend) continue;
      if (!send_to(k, MessageType::kHeartbeat).ok()) {  // a ps gone already needs no telling
        answered[k] = true;
        --left;
        continue;
      }
      sent[k] = now = Clock::now();
    }
    Envelope env;
    const auto slice = std::min<Clock::duration>(resend, deadline - now);
    const ReceiveStatus rs = ctx_.transport->receive(
        ctx_.self, &env, std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(slice)));
    if (rs == ReceiveStatus::kClosed) return;
    if (rs == ReceiveStatus::kTimeout) continue;
    const std::optional<MessageHeader> h = ps_header(env);
    if (!h || h->seq != seq_ || answered[h->shard])
      continue;  // corrupt, misdirected or an answer to an earlier request
    answered[h->shard] = true;
    --left;
  }
}

EvalResult Worker::evaluate() {
  return trainer_->evaluate(ctx_.data->test, ctx_.plan->eval_limit, [this] { keep_alive(); });
}

void Worker::keep_alive() {
  if (stop_sent_ || keep_alive_failed_) return;
  const auto heartbeat = std::chrono::milliseconds(ctx_.plan->heartbeat_ms);
  const Clock::time_point now = Clock::now();
  for (int k = 0; k < ctx_.placement->num_shards(); ++k)
    if (now - hb_sent_[k] >= heartbeat) {
      if (!send_to(k, MessageType::kHeartbeat).ok()) {
        keep_alive_failed_ = true;
        return;
      }
      ++st_.heartbeats;
    }
}

void Worker::evaluate_epochs(int64_t step, double seconds, bool final) {
  const TrainingPlan& p = *ctx_.plan;
  const int done = static_cast<int>(std::min<int64_t>(step / p.steps_per_epoch, p.epochs));
  if (done <= reported_epochs_) return;
  // The others finished an epoch while this chief computed nothing (a long evaluation or checkpoint,
  // a machine busy elsewhere): reported at once with the last training loss it knows. A replacement
  // chief that knows none yet reports after its first batch, with that batch's loss.
  if (epoch_loss_n_ == 0 && !final && result_.train_loss == 0) return;
  reported_epochs_ = done;
  std::copy(grad_->values().begin(), grad_->values().end(), trainer_->parameters().begin());
  ClusterEpochReport r;
  r.epoch = done;
  r.step = step;
  r.train_loss = epoch_loss_n_ ? epoch_loss_ / epoch_loss_n_ : result_.train_loss;
  result_.train_loss = r.train_loss;
  epoch_loss_ = 0;
  epoch_loss_n_ = 0;
  r.test = evaluate();
  last_eval_ = r.test;
  last_eval_versions_ = versions_;
  r.elapsed_s = seconds;
  if (ctx_.observer) ctx_.observer->on_epoch(r);
}

Status Worker::run() {
  const auto t0 = Clock::now();
  Status s = train();
  // E.g. a send cut short by the signal, or a chief stopping on a signal whose ps no longer answers.
  const bool chief_stopping = is_chief() && result_.interrupted && !result_.ended_by_ps;
  if (!s.ok() && s.code() != StatusCode::kInterrupted && (interrupted() || chief_stopping))
    s = Status::Error(StatusCode::kInterrupted, ctx_.self.name() + " interrupted by a signal (" + s.message() + ")");
  if (!s.ok() && is_chief()) {
    // However the run ended, the chief's result says how far it got: the step, the epochs done and
    // their last evaluation.
    result_.steps = std::max(result_.steps, global_step());
    result_.epochs_completed = static_cast<int>(result_.steps / ctx_.plan->steps_per_epoch);
    if (result_.test.samples == 0) result_.test = last_eval_;
    if (result_.seconds == 0) result_.seconds = seconds_since(t0);
    result_.interrupted = result_.interrupted || s.code() == StatusCode::kInterrupted;
  }
  publish(s.ok());  // a worker that gave up is not done: its peers go on seeing it silent (dead)
  return s;
}

Status Worker::train() {
  const TrainingPlan& p = *ctx_.plan;
  const auto t0 = Clock::now();
  bool stop = false;
  auto timed = [&](auto&& io) {
    const auto w0 = Clock::now();
    Status s = io();
    st_.wait_s += seconds_since(w0);
    return s;
  };
  auto timed_exchange = [&](MessageType type, const float* flat, uint32_t samples) {
    return timed([&] { return exchange(type, flat, samples, &stop); });
  };
  const bool overlap = overlaps();
  if (is_chief()) {
    PODLAB_RETURN_IF_ERROR(timed_exchange(MessageType::kInit, trainer_->parameters().data(), 0));
    // A restarted chief carries on from the ps state: the epochs done before it were reported by its
    // predecessor, and its first report is of the first epoch it trains in.
    reported_epochs_ = static_cast<int>(std::min<int64_t>(global_step() / p.steps_per_epoch, p.epochs));
    result_.resumed_from_step = global_step();
    ckpt_time_ = Clock::now();
    if (!stop) PODLAB_RETURN_IF_ERROR(checkpoint(false, &stop));  // a restarted ps always finds one
  } else {
    PODLAB_RETURN_IF_ERROR(timed_exchange(MessageType::kPull, nullptr, 0));
  }
  std::vector<int> idx;
  std::vector<int64_t> computed_on;
  double loss_sum = 0;
  int cur = 0;  // the gradient buffer computed next (the other may be in flight)
  for (;;) {
    if (stop && !is_chief()) break;
    if (!is_chief() && global_step() >= p.total_steps) {
      // Every ps has applied the last step: a gradient computed now could only arrive late.
      if (req_.active) PODLAB_RETURN_IF_ERROR(timed([&] { return finish(&stop); }));
      if (!stop) PODLAB_RETURN_IF_ERROR(timed([&] { return wait_for_stop(); }));
      break;
    }
    const int64_t step = global_step();
    if (is_chief()) {
      if (ctx_.observer && ctx_.observer->should_leave() && step < p.total_steps) return leave(t0);
      const bool interrupted = ctx_.observer && ctx_.observer->should_stop();
      // A ps answered STOP before the chief decided to stop (a wait-for-job ps 0 ended the job): the
      // chief still stops the other ps tasks, and keeps the last checkpoint rather than this state.
      const bool told_to_stop = stop;
      if (step >= p.total_steps || interrupted || told_to_stop) {
        // Stop the others first (they would only compute gradients the ps drops), then evaluate.
        // Told STOP first: in a submitted job, ps 0 ended it (cancelled, or workers failed). Outside
        // jobs a ps says STOP only after a chief did: this one replaced a chief that had finished.
        const bool ended_by_ps = told_to_stop && !interrupted && p.job_id != 0 && step < p.total_steps;
        result_.interrupted = (interrupted && step < p.total_steps) || ended_by_ps;
        result_.ended_by_ps = ended_by_ps;
        stop = false;
        Status s = timed_exchange(MessageType::kStop, nullptr, 0);  // answers carry the final values
        if (s.ok() && !told_to_stop) s = checkpoint(false, &stop);  // the final state: the ps tasks still answer SNAPSHOT
        if (s.ok() && !told_to_stop && !stop && !p.checkpoint_dir.empty()) confirm_final_snapshot();
        result_.steps = global_step();
        result_.epochs_completed = static_cast<int>(result_.steps / p.steps_per_epoch);
        evaluate_epochs(result_.steps, seconds_since(t0), /*final=*/true);
        if (versions_ == last_eval_versions_) {
          result_.test = last_eval_;  // the epoch-end evaluation already saw these values
        } else {
          std::copy(grad_->values().begin(), grad_->values().end(), trainer_->parameters().begin());
          result_.test = evaluate();
        }
        result_.seconds = seconds_since(t0);
        return s;
      }
      evaluate_epochs(step, seconds_since(t0));
      PODLAB_RETURN_IF_ERROR(checkpoint(true, &stop));
      if (stop) continue;
    } else if (interrupted()) {
      return Status::Error(StatusCode::kInterrupted, ctx_.self.name() + " interrupted by a signal");
    }
    const int n = next_batch(step, &idx);
    FloatBuffer& grads = grads_[cur];
    const float* pushed = grads.data();
    computed_on = versions_;
    const auto c0 = Clock::now();
    if (n > 0) {
      // Without overlap the push is answered before the next gradient is computed, so it can be sent
      // (and re-sent) straight from where the gradient was summed.
      const StepResult r = overlap ? grad_->compute(ctx_.data->train, idx.data(), n, step, grads)
                                   : grad_->compute_in_place(ctx_.data->train, idx.data(), n, step);
      pushed = overlap ? grads.data() : grad_->gradient().data();
      // A non-finite gradient would spoil every worker's parameters on the ps: not pushed.
      if (!std::isfinite(r.loss)) return diverged(step, r.loss).With(ctx_.self.name());
      loss_sum += r.loss;
      loss_window_ += r.loss;
      epoch_loss_ += r.loss;
      ++loss_window_n_;
      ++epoch_loss_n_;
    } else {
      grads.assign(grad_->values().size(), 0.0f);  // an empty slice of a short last batch
      pushed = grads.data();
    }
    st_.compute_s += seconds_since(c0);
    ++st_.pushes;
    st_.samples += n;
    st_.train_loss = loss_sum / st_.pushes;
    // With overlap, send() first takes in the answer to the previous push (which arrived while this
    // gradient was computed), and the next gradient is computed while this one is on its way.
    PODLAB_RETURN_IF_ERROR(timed([&] { return send(MessageType::kPush, pushed, static_cast<uint32_t>(n), &stop, &computed_on); }));
    if (!overlap && !stop) PODLAB_RETURN_IF_ERROR(timed([&] { return finish(&stop); }));
    if (overlap) cur ^= 1;
    publish(false);
  }
  return Status::Ok();
}

// The inproc transport's simulated slow workers are held back by the time between a receive and the
// next send, which overlapping would hide: workers there do not overlap.
bool Worker::overlaps() const {
  const TrainingPlan& p = *ctx_.plan;
  if (!p.overlap || p.mode.kind != SyncMode::Kind::kAsync) return false;
  const TransportConfig& tc = ctx_.transport->config();
  const bool slow_workers = tc.live || std::any_of(tc.worker_slowdown.begin(), tc.worker_slowdown.end(), [](double f) { return f > 1.0; });
  return !(ctx_.transport->name() == "inproc" && slow_workers);
}

}  // namespace podlab
