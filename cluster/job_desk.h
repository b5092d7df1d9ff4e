// Wait-for-job servers (`podlab ps|worker --wait-for-job`, `podlab submit`; PROTOCOL.md, "Jobs").
// Every ps keeps a JobDesk: the job the client handed in, and (ps 0) the chief's final report for the
// client. Workers ask ps 0 for a job other than the last one they ran. Messages reach the desk from
// the ps's idle loop (serve_ps_jobs) or, while a job trains, from PsServer::run (Context::jobs).
// ps 0's desk also keeps the queue: clients hold a ticket (re-sent every ~500 ms) until ps 0 admits
// their job, the first in line once the servers are free; only the admitted client hands its job to
// the ps tasks, so jobs run one at a time, in the order their clients first asked.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster/protocol.h"
#include "cluster/transport.h"

namespace podlab {

struct JobOrder {
  int64_t id = 0;    // chosen by the client (milliseconds since the epoch), > 0
  std::string text;  // JSON: {"id": ID, "args": ["--epochs", "2", ...]}
};

class JobDesk {
 public:
  // ticket_expiry: how long ps 0 keeps a queue ticket (or an admission) its client does not re-send.
  JobDesk(Transport* transport, TaskId self, std::chrono::milliseconds ticket_expiry = std::chrono::milliseconds(5000))
      : transport_(transport), self_(self), ticket_expiry_(ticket_expiry) {}

  // Answers JOB, RESULT and any client message; returns false for anything else (training traffic).
  bool handle(const Envelope& env, const MessageHeader& h);

  // ps 0: the task counts of the servers' cluster spec, told to a client with its admission, so that
  // a client with another spec learns it before it hands the job to ps tasks that may not exist.
  void set_cluster(int num_ps, int num_workers);

  bool has_new_job() const { return fresh_; }
  JobOrder start_job();           // the new job, now running
  void finish_job();              // the run ended (the ps serves jobs again)
  bool job_over() const { return running_ && result_id_ == job_.id; }  // the chief reported: end the run
  // ps 0: the workers other than the chief that reported a failure (RESULT with a non-zero code) in
  // the running job, in the order they reported.
  int workers_failed() const { return static_cast<int>(failures_.size()); }
  bool failed(const TaskId& task) const;  // whether `task` is among them
  // ps 0: a worker that failed the running job without reporting it (silent past the timeout).
  void add_failure(const TaskId& task, int code, const std::string& message);
  // ps 0: the running job cannot go on without the failed workers (`reason` says why): its result is
  // the first failure's report (with every failure listed and the reason), whatever the chief reports
  // later; job_over().
  void abort_job(const std::string& reason);
  // The job could not even start here (bad flags, missing data): at ps 0, what the client gets.
  void fail_job(int64_t id, const std::string& report_json);
  // This ps's report when it could not start the current job (fail_job), else "": the idle loop
  // answers that job's training requests with it (REFUSE), so its workers fail the job with it.
  std::string failed_here() const;
  bool shutdown() const { return shutdown_; }
  int64_t ignored() const { return ignored_; }  // messages dropped as not for the desk (logged: the first 10)
  // The running job's progress (this ps's global step of total_steps), told to a client polling for
  // the result; PsServer sets it before each message it hands the desk.
  void set_progress(int64_t step, int64_t total_steps) {
    progress_step_ = step;
    progress_total_ = total_steps;
  }

 private:
  void reply(const TaskId& to, MessageType type, const MessageHeader& request, uint32_t aux, const std::string& text);
  // Drops a message it cannot take: counted, logged for the first 10 and then every 1000th (a peer
  // sending garbage in a loop must not flood the log).
  void ignore(const TaskId& from, const std::string& why);
  std::string progress_text() const;  // {"step":S,"total_steps":T}, or "" before the job's first step
  static MessageHeader JobHeader(const MessageHeader& request, int64_t id);  // the request, step = id

  Transport* transport_;
  TaskId self_;
  JobOrder job_;
  bool fresh_ = false, running_ = false, shutdown_ = false;
  int64_t result_id_ = 0;
  int64_t progress_step_ = -1, progress_total_ = 0;  // -1: no progress known (not started)
  std::string result_;
  // ps 0, the running job: reports of failed workers other than the chief (JSON objects: task, code,
  // message), and whether they ended the job.
  std::vector<std::string> failures_;
  bool aborted_ = false;
  std::string abort_reason_;
  int64_t ignored_ = 0;    // messages dropped by ignore()
  int64_t failed_id_ = 0;  // the job that failed to start here (fail_job)
  std::string admission_text_;  // {"cluster":{"ps":P,"workers":W}} (set_cluster), or ""
  void note_failure(const std::string& entry);
  void set_result(int64_t id, const std::string& report);  // result_id_, result_ and recent_
  static constexpr size_t kRecentResults = 64;
  static constexpr size_t kMaxQueued = 1000;  // tickets beyond it are refused (JOB aux 1) until there is room
  std::map<int64_t, std::string> recent_;  // job id -> its report, the latest kRecentResults

  // ps 0's queue (see the top of this file). A ticket not re-sent for ticket_expiry_ is dropped (its
  // client went away); so is an admission, whose client re-sends its ticket while it hands the job on.
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds ticket_expiry_;
  struct Ticket {
    int64_t id;
    Clock::time_point seen;
  };
  void ticket(const Envelope& env, const MessageHeader& h);
  void expire_tickets(Clock::time_point now);
  std::vector<Ticket> queue_;  // waiting, in order of their first ticket
  Ticket admitted_{0, {}};     // id 0: none
};

// The idle loop of a wait-for-job ps: answers the desk's messages, answers STOP to a worker's
// training request (it is still in the last job, which is over), and calls run_job for each new job (it builds the plan and runs a
// PsServer whose Context::jobs is `desk`). Returns after the client's STOP (once linger_ms have
// passed, so polling workers hear it), or kInterrupted when *stop is set.
Status serve_ps_jobs(Transport* transport, const TaskId& self, JobDesk* desk,
                     const std::function<void(const JobOrder&)>& run_job, const volatile std::sig_atomic_t* stop,
                     int linger_ms);

}  // namespace podlab
