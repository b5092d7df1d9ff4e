// The ps side of wait-for-job servers (job_desk.h).
#include "cluster/job_desk.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace podlab {
namespace {

// {"task": T, "code": C, "message": M} from a worker's task report (a report that does not parse is
// kept as its message, code 1).
std::string failure_entry(const std::string& task, const std::string& report) {
  nlohmann::json e{{"task", task}, {"code", 1}, {"message", report}};
  try {
    const auto r = nlohmann::json::parse(report);
    e["code"] = r.at("code").get<int>();
    e["message"] = r.at("message").get<std::string>();
  } catch (const std::exception&) {
  }
  return e.dump();
}

int failure_code(const std::string& report) {
  try {
    return nlohmann::json::parse(report).at("code").get<int>();
  } catch (const std::exception&) {
    return 1;
  }
}

std::string failure_task(const std::string& entry) { return nlohmann::json::parse(entry).at("task").get<std::string>(); }

// `report` with "workers_failed": [entries] and, when ps 0 ended the job, its "reason" added
// (unchanged when there are none).
std::string with_failures(const std::string& report, const std::vector<std::string>& failures, const std::string& reason = "") {
  if (failures.empty()) return report;
  try {
    auto r = nlohmann::json::parse(report);
    auto list = nlohmann::json::array();
    for (const std::string& f : failures) list.push_back(nlohmann::json::parse(f));
    r["workers_failed"] = list;
    if (!reason.empty()) r["reason"] = reason;
    return r.dump();
  } catch (const std::exception&) {
    return report;
  }
}

}  // namespace

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

void JobDesk::set_cluster(int num_ps, int num_workers) {
  admission_text_ = nlohmann::json{{"cluster", {{"ps", num_ps}, {"workers", num_workers}}}}.dump();
}

void JobDesk::ignore(const TaskId& from, const std::string& why) {
  ++ignored_;
  if (ignored_ <= 10 || ignored_ % 1000 == 0)
    std::fprintf(stderr, "podlab: %s: ignored a message from %s: %s (%lld so far)\n", self_.name().c_str(), from.name().c_str(),
                 why.c_str(), static_cast<long long>(ignored_));
}

bool JobDesk::handle(const Envelope& env, const MessageHeader& h) {
  const bool client = env.from.role == Role::kClient;
  if (!client && h.type != MessageType::kJob && h.type != MessageType::kResult) return false;
  const Status valid = check_message_range(h, self_.index + 1, 0);
  if (!valid.ok() || h.shard != static_cast<uint32_t>(self_.index)) {
    ignore(env.from, valid.ok() ? h.debug_string() + ": meant for ps:" + std::to_string(h.shard) : valid.message());
    return true;
  }
  if (client && h.type == MessageType::kStop) {
    shutdown_ = true;
    reply(env.from, MessageType::kStop, h, 0, "");
  } else if (client && h.type == MessageType::kJob && h.count == 0) {
    ticket(env, h);
  } else if (client && h.type == MessageType::kJob && h.count > 0) {
    expire_tickets(Clock::now());
    // ps 0 takes only the admitted job (or any, when nobody queues); another ps takes what comes.
    const bool turn = self_.index != 0 || admitted_.id == h.step || (admitted_.id == 0 && queue_.empty());
    if (h.step == job_.id && h.step > 0) {
      reply(env.from, MessageType::kJob, h, 0, "");  // a re-sent order: already taken
    } else if (running_ || fresh_ || shutdown_ || h.step <= 0 || !turn) {
      reply(env.from, MessageType::kJob, h, 1, "");  // busy
    } else {
      job_ = JobOrder{h.step, read_text(env.data(), h)};
      fresh_ = true;
      result_.clear();
      admitted_ = Ticket{0, {}};
      reply(env.from, MessageType::kJob, h, 0, "");
    }
  } else if (client && h.type == MessageType::kResult && h.count > 0) {
    // The client has the job's report from ps 0 (this is another ps): a run still going on for that
    // job ends (its workers were told STOP by ps 0, or failed). At ps 0, a client giving up before
    // its job was handed over (its spec is not the servers'): its ticket or admission goes.
    if (running_ && h.step == job_.id && result_id_ != job_.id) {
      set_result(h.step, read_text(env.data(), h));
    }
    if (admitted_.id == h.step) admitted_ = Ticket{0, {}};
    queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [&](const Ticket& t) { return t.id == h.step; }), queue_.end());
    reply(env.from, MessageType::kResult, h, 0, "");
  } else if (client && h.type == MessageType::kResult && h.count == 0) {
    auto done = recent_.find(h.step);
    if (done != recent_.end()) reply(env.from, MessageType::kResult, h, 0, done->second);
    else if (job_.id == h.step) reply(env.from, MessageType::kHeartbeat, h, 0, progress_text());
    else reply(env.from, MessageType::kResult, h, 1, "");  // a job this ps does not know (it restarted?)
  } else if (!client && h.type == MessageType::kJob && h.count == 0) {
    if (shutdown_ && !running_) reply(env.from, MessageType::kStop, h, 0, "");
    else if ((running_ || fresh_) && job_.id != h.step) reply(env.from, MessageType::kJob, JobHeader(h, job_.id), 0, job_.text);
    else reply(env.from, MessageType::kHeartbeat, h, 0, "");
  } else if (!client && h.type == MessageType::kResult && h.count > 0) {
    // A worker's report on job `step`: the chief's final one, or another worker's failure. A report
    // on another job (a worker still finishing an earlier one) is only acknowledged.
    const std::string report = read_text(env.data(), h);
    if (h.step == job_.id && job_.id > 0) {
      if (env.from == TaskId{Role::kWorker, 0} && !aborted_) {
        set_result(h.step, with_failures(report, failures_));
      } else if (failure_code(report) != 0) {
        note_failure(failure_entry(env.from.name(), report));
      }
    }
    reply(env.from, MessageType::kResult, h, 0, "");
  } else {
    ignore(env.from, h.debug_string() + ": not a job message this ps takes");
  }
  return true;
}

void JobDesk::expire_tickets(Clock::time_point now) {
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), [&](const Ticket& t) { return now - t.seen > ticket_expiry_; }),
               queue_.end());
  if (admitted_.id != 0 && now - admitted_.seen > ticket_expiry_) admitted_ = Ticket{0, {}};
}

// A client's ticket for job `step`: JOB (aux 0) "your turn", STOP (shutting down: it will not run),
// or HEARTBEAT with {"ahead": N} (jobs before it: the one running or admitted, and the tickets in
// front).
void JobDesk::ticket(const Envelope& env, const MessageHeader& h) {
  const Clock::time_point now = Clock::now();
  expire_tickets(now);
  const int64_t id = h.step;
  if (id <= 0) return reply(env.from, MessageType::kJob, h, 1, "");
  if (shutdown_) return reply(env.from, MessageType::kStop, h, 0, "");  // the job will not run
  if (id == job_.id && (fresh_ || running_)) return reply(env.from, MessageType::kJob, h, 0, admission_text_);  // taken already
  if (admitted_.id == id) {
    admitted_.seen = now;
    return reply(env.from, MessageType::kJob, h, 0, admission_text_);
  }
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Ticket& t) { return t.id == id; });
  if (it == queue_.end()) {
    if (queue_.size() >= kMaxQueued) return reply(env.from, MessageType::kJob, h, 1, "");  // full: ask again later
    it = queue_.insert(queue_.end(), Ticket{id, now});
  }
  it->seen = now;
  const bool busy = running_ || fresh_ || admitted_.id != 0;
  if (!busy && it == queue_.begin()) {
    admitted_ = *it;
    queue_.erase(it);
    return reply(env.from, MessageType::kJob, h, 0, admission_text_);
  }
  const int64_t ahead = (busy ? 1 : 0) + (it - queue_.begin());
  reply(env.from, MessageType::kHeartbeat, h, 0, "{\"ahead\":" + std::to_string(ahead) + "}");
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
  failures_.clear();
  aborted_ = false;
  abort_reason_.clear();
  progress_step_ = -1;
  running_ = true;
  return job_;
}

void JobDesk::finish_job() { running_ = false; }

// Once per task; not after the chief reported (unless the job was ended), when it is too late to
// change the result.
void JobDesk::note_failure(const std::string& entry) {
  const std::string task = failure_task(entry);
  if (std::any_of(failures_.begin(), failures_.end(), [&](const std::string& f) { return failure_task(f) == task; })) return;
  if (result_id_ == job_.id && !aborted_) {
    std::fprintf(stderr, "podlab: %s: %s failed job %lld after it was over; not reported\n", self_.name().c_str(), task.c_str(),
                 static_cast<long long>(job_.id));
    return;
  }
  failures_.push_back(entry);
  std::fprintf(stderr, "podlab: %s: %s failed job %lld\n", self_.name().c_str(), task.c_str(), static_cast<long long>(job_.id));
  if (aborted_) set_result(job_.id, with_failures(failures_.front(), failures_, abort_reason_));
}

bool JobDesk::failed(const TaskId& task) const {
  return std::any_of(failures_.begin(), failures_.end(), [&](const std::string& f) { return failure_task(f) == task.name(); });
}

void JobDesk::add_failure(const TaskId& task, int code, const std::string& message) {
  note_failure(nlohmann::json{{"task", task.name()}, {"code", code}, {"message", message}}.dump());
}

void JobDesk::abort_job(const std::string& reason) {
  if (failures_.empty() || aborted_ || !running_) return;
  aborted_ = true;
  abort_reason_ = reason;
  set_result(job_.id, with_failures(failures_.front(), failures_, reason));
}

void JobDesk::fail_job(int64_t id, const std::string& report_json) {
  set_result(id, report_json);
  failed_id_ = id;
}

// The next job may start before a job's submitter, polling every 300 ms, has fetched its report:
// the last kRecentResults reports stay answerable.
void JobDesk::set_result(int64_t id, const std::string& report) {
  result_id_ = id;
  result_ = report;
  recent_[id] = report;
  while (recent_.size() > kRecentResults) recent_.erase(recent_.begin());
}

std::string JobDesk::failed_here() const { return failed_id_ == job_.id && result_id_ == job_.id ? result_ : ""; }

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
    if (env.from.role == Role::kWorker) {
      // A training request between jobs (a HEARTBEAT too: a worker waiting for STOP after the last
      // step asks with those): its worker is still in the last one, which is over (ps 0 ended it, or
      // its chief failed before this worker's first PULL), and hears STOP. It cannot be
      // the next job's: workers learn a job from ps 0 after every ps has taken it, and a ps that has
      // taken a job runs it before it receives anything more. When this ps could not start the
      // current job, its workers hear why instead (REFUSE with its report), and fail the job with it.
      MessageHeader r;
      r.sender_role = Role::kPs;
      r.sender_index = static_cast<uint16_t>(self.index);
      r.shard = static_cast<uint32_t>(self.index);
      r.seq = h->seq;
      const std::string failure = desk->failed_here();
      r.type = failure.empty() ? MessageType::kStop : MessageType::kRefuse;
      (void)transport->send(self, env.from, failure.empty() ? encode_message(r, nullptr) : encode_text_message(r, failure));
    }
  }
}

}  // namespace podlab
