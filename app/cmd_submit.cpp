// `podlab submit`: hands a training job to wait-for-job servers (`podlab ps|worker --wait-for-job`),
// shows its progress, prints the chief's report and exits with its code; or shuts the servers down.
// Wire messages: cluster/PROTOCOL.md, "Jobs".
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include <unistd.h>

#include "app/cluster_flags.h"
#include "app/command.h"
#include "app/json_line.h"
#include "app/progress_bar.h"
#include "cluster/cluster_spec.h"
#include "cluster/context.h"
#include "cluster/curve_keys.h"
#include "cluster/protocol.h"
#include "cluster/transport.h"

namespace podlab {
namespace {

// What `podlab submit` shows while its job runs: a bar with ETA on a terminal, otherwise a JSON
// "progress" line when the step changed, at most once a second. `text` is ps 0's
// {"step":S,"total_steps":T}; anything else is ignored (progress is a courtesy, not a contract).
class SubmitProgress {
 public:
  explicit SubmitProgress(bool json) : json_(json), t0_(std::chrono::steady_clock::now()) {}
  void update(const std::string& text) {
    int64_t step = 0, total = 0;
    try {
      const auto j = nlohmann::json::parse(text);
      step = j.at("step").get<int64_t>();
      total = j.at("total_steps").get<int64_t>();
    } catch (const std::exception&) {
      return;
    }
    if (step == last_step_ || total <= 0) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (first_step_ < 0) first_step_ = step, first_elapsed_ = elapsed;
    const double rate = elapsed > first_elapsed_ ? (step - first_step_) / (elapsed - first_elapsed_) : 0;
    const double eta = rate > 0 ? (total - step) / rate : -1;
    if (json_) {
      if (elapsed - last_print_ < 1.0) return;
      JsonLine().add("event", "progress").add("step", step).add("total_steps", total).add("elapsed_s", elapsed).print();
      std::fflush(stdout);
      last_print_ = elapsed;
    } else {
      draw_progress_bar(static_cast<double>(step) / total, eta, "job",
                        "step " + std::to_string(step) + "/" + std::to_string(total));
      drawn_ = true;
    }
    last_step_ = step;
  }
  void finish() {
    if (drawn_) finish_progress_bar();
  }

 private:
  bool json_, drawn_ = false;
  std::chrono::steady_clock::time_point t0_;
  int64_t last_step_ = -1, first_step_ = -1;
  double first_elapsed_ = 0, last_print_ = -1e9;
};

// ps 0's admission text {"cluster":{"ps":P,"workers":W}} against our spec: a job handed to servers of
// another spec would wait for ps tasks that do not exist, or leave some unused. Text that does not
// parse is not checked (the servers check the job's counts again when it starts).
Status check_server_counts(const std::string& admission, const ClusterSpec& ours) {
  int ps = 0, workers = 0;
  try {
    const auto j = nlohmann::json::parse(admission).at("cluster");
    ps = j.at("ps").get<int>();
    workers = j.at("workers").get<int>();
  } catch (const std::exception&) {
    return Status::Ok();
  }
  if (ps == ours.num_ps() && workers == ours.num_workers()) return Status::Ok();
  return Status::Config("the servers run a cluster of " + tasks_text(ps, workers) + ", but this --cluster has " +
                        tasks_text(ours.num_ps(), ours.num_workers()) +
                        ": give podlab submit the --cluster the servers were started with (or restart them with this one)");
}

// `podlab submit`: hands a job to wait-for-job servers and waits for its report (PROTOCOL.md, "Jobs"),
// or shuts them down. Exit code: the job's (the chief's report), 6 when the servers do not answer.
int run_submit(ClusterFlags& f, bool shutdown) {
  using Clock = std::chrono::steady_clock;
  if (f.cluster_spec.empty()) return report(Status::Usage("podlab submit needs --cluster (the servers' cluster spec)"));
  auto spec = load_cluster_spec(f.cluster_spec);
  if (!spec.ok()) return report(spec.status());
  // With keys, submit speaks CURVE with worker 0's key pair (client-0.key, else client.key): whoever may
  // run the chief may submit its jobs, and the ps's authorized_clients already lists that key.
  const std::string keys_dir = curve_keys_dir(f.keys_dir);
  CurveKeys curve;
  if (!keys_dir.empty()) {
    auto keys = load_curve_keys(keys_dir, TaskId{Role::kClient, 0});
    if (!keys.ok()) return report(keys.status().With("podlab submit"));
    curve = *keys;
  }
  if (!shutdown) {
    auto mode = SyncMode::parse(f.mode);
    if (!mode.ok()) return report(mode.status());
  }
  catch_stop_signals();
  // Each submitter its own routing id (client:N, N random in 1..65535: a process id alone repeats,
  // e.g. 1 in every container), so a second submitter, answered "busy", does not take over the first
  // one's connection to the servers.
  std::random_device entropy;
  const uint32_t pick = entropy() ^ (static_cast<uint32_t>(::getpid()) * 2654435761u);
  const TaskId me{Role::kClient, 1 + static_cast<int>(pick % 65535)};
  TransportConfig net;
  net.cluster = *spec;
  net.local = {me};
  net.interrupt = &g_cluster_stop;
  net.curve = curve;
  const std::string timeout_ms = std::to_string(static_cast<long>(f.connect_timeout_s * 1000));
  ::setenv("PODLAB_CONNECT_TIMEOUT_MS", timeout_ms.c_str(), 1);
  auto transport = make_transport("zmq", net);
  if (!transport.ok()) return report(transport.status());
  Transport& t = **transport;
  // The job id: milliseconds since the epoch times 1000, plus this client's N modulo 1000, so that
  // submitters started in the same millisecond (almost always) differ: the servers would take them
  // for one job. Below 2^53 until the year 2255, so JSON tools that read numbers as doubles keep it.
  const int64_t id =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() * 1000 +
      me.index % 1000;
  // "cluster": the task counts of our spec, so servers started with another spec refuse the job (its
  // addresses may differ: a submitter outside the cluster may reach the ps tasks by other names).
  const nlohmann::json counts{{"ps", spec->num_ps()}, {"workers", spec->num_workers()}};
  const std::string text = nlohmann::json{{"id", id}, {"args", task_args(f, false)}, {"cluster", counts}}.dump();
  uint32_t seq = 0;
  auto send = [&](int ps, MessageType type, const std::string& payload) {
    MessageHeader h;
    h.type = type;
    h.sender_role = Role::kClient;
    h.sender_index = static_cast<uint16_t>(me.index);
    h.shard = static_cast<uint32_t>(ps);
    h.step = id;
    h.seq = ++seq;
    return t.send(me, TaskId{Role::kPs, ps}, payload.empty() ? encode_message(h, nullptr) : encode_text_message(h, payload));
  };
  // Sends `type` to every ps in `which` until each answers (re-sending every 500 ms, for at most the
  // connect timeout); answers[k] gets ps k's answer.
  std::map<int, std::pair<MessageHeader, Bytes>> answers;
  int busy = -1;  // a ps that answered JOB with "busy" in the last round
  // keep_ticket: also re-send the queue ticket to ps 0 each round (its answers are not waited for),
  // so ps 0 keeps the admission while the job is handed to the other ps tasks.
  auto ask_all = [&](const std::vector<int>& which, MessageType type, const std::string& payload, double timeout_s = 0,
                     bool keep_ticket = false) -> Status {
    answers.clear();
    busy = -1;
    if (timeout_s <= 0) timeout_s = f.connect_timeout_s;
    const Clock::time_point give_up = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    while (answers.size() < which.size()) {
      if (g_cluster_stop) return Status::Error(StatusCode::kInterrupted, "podlab submit interrupted");
      if (Clock::now() > give_up && busy >= 0)
        return Status::Network("ps:" + std::to_string(busy) + " is busy with another job (or shutting down); submit again when it is done");
      if (Clock::now() > give_up)
        return Status::Network("no answer from the servers (ps:" + std::to_string(which[answers.size()]) + " at " +
                               spec->address(TaskId{Role::kPs, which[answers.size()]}) + ") within --connect-timeout-s; are they running with --wait-for-job?");
      std::map<uint32_t, int> asked;  // seq -> ps
      if (keep_ticket) PODLAB_RETURN_IF_ERROR(send(0, MessageType::kJob, ""));
      for (int k : which)
        if (!answers.count(k)) {
          PODLAB_RETURN_IF_ERROR(send(k, type, payload));
          asked[seq] = k;
        }
      const Clock::time_point until = Clock::now() + std::chrono::milliseconds(500);
      while (Clock::now() < until && answers.size() < which.size()) {
        Envelope env;
        if (t.receive(me, &env, std::chrono::milliseconds(50)) != ReceiveStatus::kMessage) continue;
        auto h = decode_message(env.data(), env.size());
        if (!h.ok() || !check_message_range(*h, spec->num_ps(), 0).ok() || h->step != id) continue;
        auto it = asked.find(h->seq);
        if (it == asked.end() || env.from != TaskId{Role::kPs, it->second}) continue;
        if (type == MessageType::kJob && h->type == MessageType::kJob && h->aux == 1) {
          busy = it->second;  // still lingering after the last job: ask again
          continue;
        }
        answers[it->second] = {*h, env.take_bytes()};
      }
    }
    return Status::Ok();
  };
  std::vector<int> every_ps;
  for (int k = 0; k < spec->num_ps(); ++k) every_ps.push_back(k);
  const bool json = f.json || !stdout_is_terminal();
  if (shutdown) {
    Status st = ask_all(every_ps, MessageType::kStop, "");
    t.shutdown();
    if (!st.ok()) return report(st);
    if (json) JsonLine().add("event", "shutdown").add("ps", spec->num_ps()).print();
    else std::printf("shut down %d ps task(s); the workers follow within a few seconds\n", spec->num_ps());
    return 0;
  }
  // Tells the ps tasks in `which` that the job is over, with this client's failure as its report (a
  // RESULT with text): a ps running it ends its run, ps 0 answers its workers STOP. Best effort, for
  // at most a second, whatever the stop flag says.
  auto cancel = [&](const std::vector<int>& which, const Status& why, const std::string& when) {
    const std::string cancelled = nlohmann::json{{"task", "client:" + std::to_string(me.index)},
                                                 {"code", why.exit_code()},
                                                 {"message", "its submitter gave up " + when + ": " + why.message()}}.dump();
    std::map<uint32_t, int> pending;
    for (int k : which)
      if (send(k, MessageType::kResult, cancelled).ok()) pending[seq] = k;
    const Clock::time_point until = Clock::now() + std::chrono::seconds(1);
    while (!pending.empty() && Clock::now() < until) {
      Envelope env;
      if (t.receive(me, &env, std::chrono::milliseconds(50)) != ReceiveStatus::kMessage) continue;
      auto h = decode_message(env.data(), env.size());
      if (h.ok() && h->type == MessageType::kResult) pending.erase(h->seq);
    }
  };
  // First our turn in ps 0's queue: a ticket (JOB without text) every 500 ms until ps 0 admits the
  // job; it answers how many jobs are ahead meanwhile.
  Status st;
  bool queued = false;  // ps 0 has our ticket (we heard from it)
  for (int64_t shown = -1;;) {
    st = ask_all({0}, MessageType::kJob, "");
    if (!st.ok()) break;
    queued = true;
    const auto& [h, bytes] = answers.at(0);
    if (h.type == MessageType::kJob) {  // admitted; with the servers' task counts (since they send them)
      if (h.count > 0) st = check_server_counts(read_text(bytes.data(), h), *spec);
      if (!st.ok()) cancel({0}, st, "before it started");  // ps 0 admits the next job at once
      break;
    }
    if (h.type == MessageType::kStop) {
      st = Status::Network("the servers are shutting down (podlab submit --shutdown): job " + std::to_string(id) +
                           " was not run; start them again and submit it again");
      break;
    }
    int64_t ahead = -1;
    try {
      ahead = nlohmann::json::parse(read_text(bytes.data(), h)).at("ahead").get<int64_t>();
    } catch (const std::exception&) {
    }
    if (ahead != shown && ahead >= 0) {
      if (json) JsonLine().add("event", "queued").add("job", id).add("ahead", ahead).print();
      else std::printf("job %lld queued: %lld job(s) ahead of it\n", static_cast<long long>(id), static_cast<long long>(ahead));
      std::fflush(stdout);
      shown = ahead;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Then ps 0 last: workers learn the job from ps 0, so by then every other ps has taken it.
  std::vector<int> others(every_ps.begin() + 1, every_ps.end());
  const bool admitted = st.ok();
  if (st.ok() && !others.empty()) st = ask_all(others, MessageType::kJob, text, 0, /*keep_ticket=*/true);
  if (st.ok()) st = ask_all({0}, MessageType::kJob, text);
  if (!st.ok()) {
    // Interrupted or timed out after ps 1..N-1 may have taken the job, before ps 0 did: no worker
    // will come, so they are told the job is over rather than wait for --peer-timeout-s.
    // ps 0 too: it drops our admission or ticket, so the next job in line does not wait for its expiry.
    if (admitted) cancel(every_ps, st, "before it started");
    else if (queued && st.code() == StatusCode::kInterrupted) cancel({0}, st, "while queued");
    t.shutdown();
    return report(st);
  }
  if (json) JsonLine().add("event", "submitted").add("job", id).add("ps", spec->num_ps()).print();
  else std::printf("job %lld submitted to %d ps task(s); waiting for its report\n", static_cast<long long>(id), spec->num_ps());
  std::fflush(stdout);
  // Wait for the chief's report at ps 0; it answers HEARTBEAT while the job runs, with the job's
  // progress once it has taken a step.
  std::string result;
  SubmitProgress progress(json);
  for (;;) {
    st = ask_all({0}, MessageType::kResult, "");
    if (!st.ok()) break;
    const auto& [h, bytes] = answers.at(0);
    if (h.type == MessageType::kResult && h.count > 0) {
      result = read_text(bytes.data(), h);
      break;
    }
    if (h.type == MessageType::kHeartbeat && h.count > 0) progress.update(read_text(bytes.data(), h));
    if (h.type == MessageType::kResult) {
      st = Status::Network("ps:0 no longer knows job " + std::to_string(id) + " (was it restarted?); submit the job again");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  // The other ps tasks hear the report too: one still serving this job (ps 0 ended it, or its chief
  // failed before any training) ends its run now instead of after --peer-timeout-s. Best effort.
  if (st.ok() && !others.empty()) (void)ask_all(others, MessageType::kResult, result, 2.0);
  if (st.code() == StatusCode::kInterrupted) {
    // Ctrl-C while the job runs cancels it: ps 0 first (it ends the job and tells the workers STOP),
    // so the servers do not go on with a job nobody waits for, ahead of the next one.
    cancel(every_ps, st, "while it ran");
    st = Status::Error(StatusCode::kInterrupted, "podlab submit interrupted: job " + std::to_string(id) + " cancelled (the servers stop it)");
  }
  t.shutdown();
  progress.finish();
  if (!st.ok()) return report(st);
  try {
    const auto r = nlohmann::json::parse(result);
    int code = r.at("code").get<int>();
    std::string message = r.at("message").get<std::string>();
    const nlohmann::json c = r.value("chief", nlohmann::json::object());
    // A chief stopped by a signal ends the job cleanly (STOP, checkpoint) but before its end: the
    // job was interrupted, as its process's exit code 130 says.
    if (code == 0 && c.value("interrupted", false)) {
      code = static_cast<int>(StatusCode::kInterrupted);
      message = "its chief was stopped by a signal (SIGINT or SIGTERM) before the job's end";
    }
    const std::string task = r.at("task").get<std::string>();
    // Workers other than the chief that failed the job: [{task, code, message}] (PROTOCOL.md, "Jobs").
    const nlohmann::json failed = r.value("workers_failed", nlohmann::json::array());
    if (json) {
      JsonLine line;
      line.add("event", "result").add("job", id).add("code", code).add("task", task).add("message", message);
      if (!c.empty())
        line.add("test_accuracy", c.at("test_accuracy").get<double>())
            .add("test_loss", c.at("test_loss").get<double>())
            .add("steps", c.at("steps").get<int64_t>())
            .add("epochs", c.at("epochs_completed").get<int64_t>())
            .add("seconds", c.at("seconds").get<double>())
            .add("interrupted", c.at("interrupted").get<bool>());
      if (c.value("resumed_from_step", int64_t{0}) > 0) line.add("resumed_from_step", c.at("resumed_from_step").get<int64_t>());
      if (!failed.empty()) line.raw("workers_failed", failed.dump());
      if (r.contains("reason")) line.add("reason", r.at("reason").get<std::string>());
      line.print();
    } else if (!c.empty()) {
      std::printf("job %lld: exit %d, test accuracy %.4f (test loss %.4f, %lld steps, %.1f s)%s%s\n", static_cast<long long>(id), code,
                  c.at("test_accuracy").get<double>(), c.at("test_loss").get<double>(),
                  static_cast<long long>(c.at("steps").get<int64_t>()), c.at("seconds").get<double>(),
                  message.empty() ? "" : ": ", message.c_str());
      if (c.value("resumed_from_step", int64_t{0}) > 0)
        std::printf("job %lld resumed from step %lld, restored from --checkpoint-dir by the ps tasks (a fresh start needs an "
                    "empty or new --checkpoint-dir)\n",
                    static_cast<long long>(id), static_cast<long long>(c.at("resumed_from_step").get<int64_t>()));
    } else {
      std::printf("job %lld: exit %d: %s\n", static_cast<long long>(id), code, message.c_str());
    }
    if (!json)
      for (const auto& w : failed)
        if (w.at("task").get<std::string>() != task || code == 0)
          std::printf("  %s failed (exit %d): %s\n", w.at("task").get<std::string>().c_str(), w.at("code").get<int>(),
                      w.at("message").get<std::string>().c_str());
    if (code != 0 && !message.empty()) {
      const bool named = message.rfind(task + ":", 0) == 0 || message.rfind(task + " ", 0) == 0;
      std::fprintf(stderr, "podlab: error: job %lld: %s%s%s\n", static_cast<long long>(id), named ? "" : task.c_str(),
                   named ? "" : ": ", message.c_str());
    }
    const std::string reason = r.value("reason", "");
    if (!reason.empty()) std::fprintf(stderr, "podlab: job %lld was ended: %s\n", static_cast<long long>(id), reason.c_str());
    return code;
  } catch (const std::exception& e) {
    return report(Status::Network(std::string("the job's report from ps:0 is malformed: ") + e.what()));
  }
}

}  // namespace

void add_submit_commands(CLI::App& root, int& exit_code) {
  auto sf = std::make_shared<ClusterFlags>();
  auto shutdown = std::make_shared<bool>(false);
  CLI::App* submit = root.add_subcommand("submit", "Run a training job on servers started with --wait-for-job, print its report and exit with its code (Ctrl-C cancels the job)");
  add_setup_flags(*submit, sf->setup);
  add_fault_flags(*submit, *sf);
  submit->add_option("--cluster", sf->cluster_spec, "The servers' cluster spec, JSON or file")->required();
  submit->add_option("--placement", sf->placement, "round-robin or balanced")->capture_default_str()->check(CLI::IsMember({"round-robin", "balanced"}));
  submit->add_option("--mode", sf->mode, "async, sync or ssp:K")->capture_default_str();
  submit->add_option("--replicas-to-aggregate", sf->replicas, "sync: gradients averaged per step (default: all workers)")->check(CLI::Range(1, kMaxTasksPerRole));
  submit->add_option("--max-steps", sf->max_steps, "Stop after this many global steps (0: epochs decide)")->check(non_negative());
  submit->add_option("--eval-limit", sf->eval_limit, "Evaluate on at most this many test samples (0: all)")->check(non_negative());
  submit->add_flag("--overlap", sf->overlap,
                  "async: compute the next gradient while the last push is answered (faster, each gradient one update staler; default: wait for the answer)");
  submit->add_option("--retry-ms", sf->retry_ms, "Re-send a request unanswered for this long")->capture_default_str()->check(CLI::Range(10, 600000));
  submit->add_option("--connect-timeout-s", sf->connect_timeout_s, "Give up (exit 6) when a server does not answer this long")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  submit->add_option("--keys", sf->keys_dir, "CURVE key directory (or PODLAB_KEYS): submit uses worker 0's key pair, client-0.key or client.key, and server.pub")->check(non_empty_path());
  submit->add_flag("--shutdown", *shutdown, "Instead of a job: tell the servers to exit 0 (ps tasks at once, workers at their next poll)");
  submit->add_flag("--json", sf->json, "Print one JSON object per line, even on a terminal");
  submit->callback([sf, shutdown, submit, &exit_code] {
    // --shutdown sends no job: training flags with it would be ignored, so they are refused.
    static const std::set<std::string> kShutdownFlags = {"--cluster", "--keys", "--connect-timeout-s", "--json", "--shutdown", "--help"};
    const std::string given = *shutdown ? flags_given_outside(*submit, kShutdownFlags) : "";
    if (!given.empty()) {
      exit_code = report(Status::Usage("--shutdown sends no job, so it takes no training flags (" + given +
                                       "): run podlab submit --cluster SPEC --shutdown alone"));
      return;
    }
    exit_code = run_submit(*sf, *shutdown);
  });

}

}  // namespace podlab
