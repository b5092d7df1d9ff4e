// The ps side of wait-for-job servers (job_desk.h).
#include "cluster/job_desk.h"

#include <chrono>
#include <cstdio>

namespace podlab {

void JobDesk::reply(const TaskId& to, MessageType type, const MessageHeader& request, uint32_t aux, const std::string& text) {
  MessageHeader h;
  h.type = type;
  h.sender_role = Role::kPs;
  h.sender_index = static_cast<uint16_t>(self_.index);
  h.shard = static_cast<uint32_t>(self_.index);
  h.step = request.step;
  h.seq = request.seq;
  Bytes b;
  if (!text.empty()) {
    b = encode_text_message(h, text);
  } else {
    h.aux = aux;
    b = encode_message(h, nullptr);
  }
  (void)transport_->send(self_, to, std::move(b));  // lost: the asker asks again
}

bool JobDesk::handle(const Envelope& env, const MessageHeader& h) {
  const bool client = env.from.role == Role::kClient;
  if (!client && h.type != MessageType::kJob && h.type != MessageType::kResult) return false;
  const Status valid = check_message_range(h, self_.index + 1, 0);
  if (!valid.ok() || h.shard != static_cast<uint32_t>(self_.index)) {
    std::fprintf(stderr, "podlab: %s: ignored a message from %s: %s\n", self_.name().c_str(), env.from.name().c_str(),
                 valid.ok() ? "wrong shard" : valid.message().c_str());
    return true;
  }
  if (client && h.type == MessageType::kStop) {
    shutdown_ = true;
    reply(env.from, MessageType::kStop, h, 0, "");
  } else if (client && h.type == MessageType::kJob && h.count > 0) {
    if (h.step == job_.id && h.step > 0) {
      reply(env.from, MessageType::kJob, h, 0, "");  // a re-sent order: already taken
    } else if (running_ || fresh_ || shutdown_ || h.step <= 0) {
      reply(env.from, MessageType::kJob, h, 1, "");  // busy
    } else {
      job_ = JobOrder{h.step, read_text(env.data(), h)};
      fresh_ = true;
      result_.clear();
      reply(env.from, MessageType::kJob, h, 0, "");
    }
  } else if (client && h.type == MessageType::kResult && h.count == 0) {
    if (result_id_ == h.step && !result_.empty()) reply(env.from, MessageType::kResult, h, 0, result_);
    else if (job_.id == h.step) reply(env.from, MessageType::kHeartbeat, h, 0, progress_text());
    else reply(env.from, MessageType::kResult, h, 1, "");  // a job this ps does not know (it restarted?)
  } else if (!client && h.type == MessageType::kJob && h.count == 0) {
    if (shutdown_ && !running_) reply(env.from, MessageType::kStop, h, 0, "");
    else if ((running_ || fresh_) && job_.id > h.step) reply(env.from, MessageType::kJob, JobHeader(h, job_.id), 0, job_.text);
    else reply(env.from, MessageType::kHeartbeat, h, 0, "");
  } else if (!client && h.type == MessageType::kResult && h.count > 0 && env.from == TaskId{Role::kWorker, 0}) {
    result_id_ = h.step;
    result_ = read_text(env.data(), h);
    reply(env.from, MessageType::kResult, h, 0, "");
  } else {
    std::fprintf(stderr, "podlab: %s: ignored %s (not a job message it expects)\n", self_.name().c_str(), h.debug_string().c_str());
  }
  return true;
}

std::string JobDesk::progress_text() const {
  if (!running_ || progress_step_ < 0) return "";
  return "{\"step\":" + std::to_string(progress_step_) + ",\"total_steps\":" + std::to_string(progress_total_) + "}";
}

MessageHeader JobDesk::JobHeader(const MessageHeader& request, int64_t id) {
  MessageHeader h = request;
  h.step = id;
  return h;
}

JobOrder JobDesk::start_job() {
  fresh_ = false;
  progress_step_ = -1;
  running_ = true;
  return job_;
}

void JobDesk::finish_job() { running_ = false; }

void JobDesk::fail_job(int64_t id, const std::string& report_json) {
  result_id_ = id;
  result_ = report_json;
}

Status serve_ps_jobs(Transport* transport, const TaskId& self, JobDesk* desk,
                     const std::function<void(const JobOrder&)>& run_job, const volatile std::sig_atomic_t* stop,
                     int linger_ms) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point shutdown_at{};
  for (;;) {
    if (stop && *stop) return Status::Error(StatusCode::kInterrupted, self.name() + " interrupted by a signal");
    if (desk->has_new_job()) {
      run_job(desk->start_job());
      desk->finish_job();
      continue;
    }
    if (desk->shutdown()) {
      if (shutdown_at == Clock::time_point{}) shutdown_at = Clock::now();
      if (Clock::now() - shutdown_at > std::chrono::milliseconds(linger_ms)) return Status::Ok();
    }
    Envelope env;
    const ReceiveStatus rs = transport->receive(self, &env, std::chrono::milliseconds(50));
    if (rs == ReceiveStatus::kClosed) return Status::Ok();
    if (rs != ReceiveStatus::kMessage) continue;
    auto h = decode_message(env.data(), env.size());
    if (!h.ok()) continue;  // the transport counted and logged it
    if (desk->handle(env, *h)) continue;
    if (env.from.role == Role::kWorker && h->type == MessageType::kPush) {
      // A gradient between jobs: its worker is still in the last one, which is over. (A PULL or INIT
      // may be the next job's, arriving before its JOB: unanswered, it is sent again.)
      MessageHeader r;
      r.type = MessageType::kStop;
      r.sender_role = Role::kPs;
      r.sender_index = static_cast<uint16_t>(self.index);
      r.shard = static_cast<uint32_t>(self.index);
      r.seq = h->seq;
      (void)transport->send(self, env.from, encode_message(r, nullptr));
    }
  }
}

}  // namespace podlab
