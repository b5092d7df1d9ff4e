// Task reports as JSON, and the process launcher (see task_main.h).
#include "cluster/task_main.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cluster/output_relay.h"

namespace podlab {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

json counters_to_json(const EndpointCounters& c) {
  json peers = json::object();
  for (const auto& [name, p] : c.peers)
    peers[name] = {{"messages_out", p.messages_out}, {"bytes_out", p.bytes_out}, {"messages_in", p.messages_in}, {"bytes_in", p.bytes_in}};
  return {{"name", c.name},           {"messages_out", c.messages_out}, {"bytes_out", c.bytes_out},
          {"messages_in", c.messages_in}, {"bytes_in", c.bytes_in},       {"lost_out", c.lost_out},
          {"delay_ms_in", c.delay_ms_in}, {"slowdown_ms", c.slowdown_ms}, {"queue_depth", c.queue_depth},
          {"max_queue_depth", c.max_queue_depth}, {"malformed_in", c.malformed_in},
          {"rejected_peers", c.rejected_peers}, {"duplicates_refused", c.duplicates_refused}, {"peers", peers}};
}

EndpointCounters counters_from_json(const json& j) {
  EndpointCounters c;
  c.name = j.at("name").get<std::string>();
  c.messages_out = j.at("messages_out");
  c.bytes_out = j.at("bytes_out");
  c.messages_in = j.at("messages_in");
  c.bytes_in = j.at("bytes_in");
  c.lost_out = j.at("lost_out");
  c.delay_ms_in = j.at("delay_ms_in");
  c.slowdown_ms = j.at("slowdown_ms");
  c.queue_depth = j.at("queue_depth");
  c.max_queue_depth = j.at("max_queue_depth");
  c.malformed_in = j.value("malformed_in", int64_t{0});
  c.rejected_peers = j.value("rejected_peers", int64_t{0});
  c.duplicates_refused = j.value("duplicates_refused", int64_t{0});
  for (const auto& [name, p] : j.at("peers").items())
    c.peers[name] = PeerCounters{p.at("messages_out"), p.at("bytes_out"), p.at("messages_in"), p.at("bytes_in")};
  return c;
}

struct Child {
  TaskId task;
  pid_t pid = -1;
  bool running = false;
  int exit_code = 0;  // or 128 + signal
  bool signaled = false;
  std::string lost;  // a non-chief worker killed while training went on without it: how and when
  // The chief ends with 130 when it stopped the cluster on an interrupt (a clean end); any other
  // non-zero code, or being killed by a signal, is a failure.
  // Ended by SIGKILL or SIGTERM, which come from outside; SIGSEGV, SIGABRT and the like are crashes.
  bool killed() const { return signaled && (exit_code == 128 + SIGKILL || exit_code == 128 + SIGTERM); }
  // Exited 130 by itself: a SIGINT or SIGTERM it caught. The launcher forwards signals only to the
  // chief, so for any other task this came from outside, as a kill does.
  bool stopped_by_signal() const { return !signaled && exit_code == 130; }
  bool failed(bool is_chief) const { return exit_code != 0 && lost.empty() && !(is_chief && exit_code == 130 && !signaled); }
};

void kill_all(std::vector<Child>& children, int sig) {
  for (Child& c : children)
    if (c.running) ::kill(c.pid, sig);
}

// Reaps whichever children have exited; returns false when none is running any more.
bool reap(std::vector<Child>& children) {
  bool any = false;
  for (Child& c : children) {
    if (!c.running) continue;
    int status = 0;
    const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) {
      c.running = false;
      c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      c.signaled = !WIFEXITED(status);
    } else if (r < 0) {
      c.running = false;
      c.exit_code = 1;
    }
    any = any || c.running;
  }
  return any;
}

void kill_and_reap(std::vector<Child>& children) {
  kill_all(children, SIGKILL);
  for (Child& c : children)
    if (c.running) {
      int status = 0;
      ::waitpid(c.pid, &status, 0);
      c.running = false;
      c.exit_code = 128 + SIGKILL;
      c.signaled = true;
    }
}

Status child_failure(const Child& c) {
  const int code = c.exit_code;
  StatusCode sc = StatusCode::kInternal;
  if (code >= 1 && code <= 6) sc = static_cast<StatusCode>(code);
  if (code == static_cast<int>(StatusCode::kInterrupted) && !c.signaled) sc = StatusCode::kInterrupted;
  if (code == static_cast<int>(StatusCode::kPreempted) && !c.signaled) sc = StatusCode::kPreempted;
  std::string how = c.signaled ? "was killed by signal " + std::to_string(code - 128) : "exited with code " + std::to_string(code);
  if (c.killed())  // from outside (kill -9, the OOM killer, a TERM): a lost peer, not a podlab bug (a crash is)
    return Status::Network(c.task.name() + " " + how + "; stopped every other task (--restart-failed N starts killed tasks again)");
  return Status::Error(sc, c.task.name() + " " + how + " (its messages are above); stopped every other task");
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// This process's binary by its path; /proc/self/exe when that cannot be read or no longer is this
// binary (rebuilt meanwhile: a task restarted later must run the same build as the others).
std::string own_binary() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  struct stat at_path {}, running {};
  if (ec || ::stat(p.c_str(), &at_path) != 0 || ::stat("/proc/self/exe", &running) != 0 ||
      at_path.st_dev != running.st_dev || at_path.st_ino != running.st_ino)
    return "/proc/self/exe";
  return p.string();
}

}  // namespace

std::string task_report_json(const TaskId& task, const Status& status, const PsStats* ps, const WorkerStats* w,
                             const ChiefResult* chief, const EndpointCounters* transport) {
  json j = {{"task", task.name()}, {"code", status.exit_code()}, {"message", status.message()}};
  if (ps)
    j["ps"] = {{"shard", ps->shard},
               {"floats", ps->floats},
               {"step", ps->step},
               {"gradients", ps->gradients},
               {"applied", ps->applied},
               {"samples_applied", ps->samples_applied},
               {"dropped_stale", ps->dropped_stale},
               {"dropped_late", ps->dropped_late},
               {"duplicates", ps->duplicates},
               {"bad_messages", ps->bad_messages},
               {"staleness", ps->staleness},
               {"max_staleness", ps->max_staleness},
               {"staleness_sum", ps->staleness_sum},
               {"restored_step", ps->restored_step},
               {"worker_restarts", ps->worker_restarts},
               {"heartbeats", ps->heartbeats},
               {"heartbeat_age_s", ps->heartbeat_age_s}};
  if (w)
    j["worker"] = {{"index", w->index},         {"pushes", w->pushes},   {"samples", w->samples},
                   {"retries", w->retries},     {"compute_s", w->compute_s}, {"wait_s", w->wait_s},
                   {"train_loss", w->train_loss}, {"heartbeats", w->heartbeats}, {"checkpoints", w->checkpoints},
                   {"heartbeat_age_s", w->heartbeat_age_s}};
  if (chief)
    j["chief"] = {{"interrupted", chief->interrupted},
                  {"steps", chief->steps},
                  {"epochs_completed", chief->epochs_completed},
                  {"seconds", chief->seconds},
                  {"test_loss", chief->test.loss},
                  {"test_accuracy", chief->test.accuracy},
                  {"test_samples", chief->test.samples},
                  {"train_loss", chief->train_loss},
                  {"resumed_from_step", chief->resumed_from_step}};
  if (transport) j["transport"] = counters_to_json(*transport);
  return j.dump();
}

Status merge_task_report(const std::string& text, ClusterReport* r) {
  try {
    const json j = json::parse(text);
    const std::string name = j.at("task").get<std::string>();
    const size_t colon = name.find(':');
    if (colon == std::string::npos) return Status::Data("task report names no task: " + name);
    const bool is_ps = name.substr(0, colon) == "ps";
    const int index = std::stoi(name.substr(colon + 1));
    const int num_ps = static_cast<int>(r->ps.size()), num_workers = static_cast<int>(r->workers.size());
    if (index < 0 || index >= (is_ps ? num_ps : num_workers)) return Status::Data("task report for an unknown task " + name);
    if (j.contains("transport")) r->transport.at(static_cast<size_t>(is_ps ? index : num_ps + index)) = counters_from_json(j.at("transport"));
    const Status st = Status::Error(static_cast<StatusCode>(j.at("code").get<int>()), j.at("message").get<std::string>());
    if (is_ps && j.contains("ps")) {
      const json& p = j.at("ps");
      PsStats& s = r->ps[index];
      s.shard = p.at("shard");
      s.floats = p.at("floats");
      s.step = p.at("step");
      s.gradients = p.at("gradients");
      s.applied = p.at("applied");
      s.samples_applied = p.at("samples_applied");
      s.dropped_stale = p.at("dropped_stale");
      s.dropped_late = p.at("dropped_late");
      s.duplicates = p.at("duplicates");
      s.bad_messages = p.at("bad_messages");
      s.staleness = p.at("staleness").get<std::vector<int64_t>>();
      s.staleness.resize(kStalenessBuckets, 0);
      s.max_staleness = p.at("max_staleness");
      s.staleness_sum = p.at("staleness_sum");
      s.restored_step = p.at("restored_step");
      s.worker_restarts = p.at("worker_restarts");
      s.heartbeats = p.at("heartbeats");
      s.heartbeat_age_s = p.at("heartbeat_age_s").get<std::map<std::string, double>>();
    }
    if (!is_ps) {
      // A chief that stopped training on a signal ends 130 (its report's code) but did its part: as in
      // threads mode, its status is ok and the result says interrupted.
      const bool stopped_chief = index == 0 && st.code() == StatusCode::kInterrupted && j.contains("chief") &&
                                 j.at("chief").at("interrupted").get<bool>();
      r->worker_status[index] = stopped_chief ? Status::Ok() : st;
      if (j.contains("worker")) {
        const json& w = j.at("worker");
        WorkerStats& s = r->workers[index];
        s.index = w.at("index");
        s.pushes = w.at("pushes");
        s.samples = w.at("samples");
        s.retries = w.at("retries");
        s.compute_s = w.at("compute_s");
        s.wait_s = w.at("wait_s");
        s.train_loss = w.at("train_loss");
        s.heartbeats = w.at("heartbeats");
        s.checkpoints = w.at("checkpoints");
        s.heartbeat_age_s = w.at("heartbeat_age_s").get<std::map<std::string, double>>();
      }
      if (j.contains("chief")) {
        const json& c = j.at("chief");
        ChiefResult& s = r->chief;
        s.interrupted = c.at("interrupted");
        s.steps = c.at("steps");
        s.epochs_completed = c.at("epochs_completed");
        s.seconds = c.at("seconds");
        s.test.loss = c.at("test_loss");
        s.test.accuracy = c.at("test_accuracy");
        s.test.samples = c.at("test_samples");
        s.train_loss = c.at("train_loss");
        s.resumed_from_step = c.value("resumed_from_step", int64_t{0});
      }
    }
  } catch (const std::exception& e) {
    return Status::Data(std::string("bad task report: ") + e.what());
  }
  return Status::Ok();
}

Result<ClusterReport> run_process_cluster(const ProcessClusterOptions& o, volatile std::sig_atomic_t* stop) {
  if (o.num_ps < 1 || o.num_workers < 1) return Status::Usage("need at least one ps and one worker");
  auto ports = free_ports(o.num_ps + o.num_workers);
  if (!ports.ok()) return ports.status();
  ClusterSpec spec;
  for (int i = 0; i < o.num_ps + o.num_workers; ++i)
    (i < o.num_ps ? spec.ps : spec.worker).push_back("127.0.0.1:" + std::to_string((*ports)[i]));

  const char* tmp_env = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp_env && *tmp_env ? tmp_env : "/tmp") + "/podlab_cluster.XXXXXX";
  std::vector<char> dir_buf(tmpl.begin(), tmpl.end());
  dir_buf.push_back('\0');
  if (!::mkdtemp(dir_buf.data())) return Status::Io("cannot create a directory from " + tmpl);
  const std::string dir = dir_buf.data();
  const std::string spec_path = dir + "/cluster.json";
  {
    std::ofstream out(spec_path);
    out << spec.to_json() << "\n";
    if (!out) return Status::Io("cannot write " + spec_path);
  }
  auto task_file = [&](const TaskId& t, const char* ext) {
    return dir + "/" + std::string(role_name(t.role)) + "-" + std::to_string(t.index) + ext;
  };
  auto cleanup = [&] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  };
  std::vector<std::string> common = o.task_args;
  if (o.restarts > 0 && !o.has_checkpoint_dir) {
    // A restarted ps needs the chief's checkpoints to recover its shard.
    common.push_back("--checkpoint-dir");
    common.push_back(dir + "/checkpoints");
  }

  std::vector<Child> children;
  pid_t group = 0;
  const pid_t parent = ::getpid();
  std::unique_ptr<OutputRelay> relay;
  if (o.observer && o.relay_output)
    relay = std::make_unique<OutputRelay>([&o](const std::string& source, bool is_stderr, const std::string& line) {
      o.observer->on_output(source, is_stderr, line);
    });
  // The launcher's own news (a task lost or restarted) on stderr; with a relay the observer has it as
  // the task's state at the next tick instead, so it does not come twice.
  auto say = [&](const std::string& text) {
    if (relay) return;
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
  };
  auto spawn = [&](const TaskId& t) -> pid_t {
    std::vector<std::string> args = {o.podlab.empty() ? own_binary() : o.podlab, role_name(t.role), "--cluster", spec_path, "--index", std::to_string(t.index),
                                     "--report", task_file(t, ".json"), "--progress-file", task_file(t, ".progress")};
    args.insert(args.end(), common.begin(), common.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    std::fflush(stderr);
    const bool relayed = relay && relay->open(t.name());
    const pid_t pid = ::fork();
    if (pid != 0) {
      if (relayed) relay->close_child_ends();
      if (pid > 0) {
        ::setpgid(pid, group);
        if (group == 0) group = pid;
      }
      return pid;
    }
    // child: own process group (a terminal's Ctrl-C reaches only the launcher), dies with it
    ::setpgid(0, group);
    if (relayed) relay->attach_in_child();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(137);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "podlab: cannot start %s: exec %s failed\n", t.name().c_str(), argv[0]);
    _exit(1);
  };
  for (const TaskId& t : spec.tasks()) {
    const pid_t pid = spawn(t);
    if (pid < 0) {
      kill_and_reap(children);
      cleanup();
      return Status::Internal("fork failed");
    }
    children.push_back(Child{t, pid, true, 0, false, {}});
  }

  const size_t chief = static_cast<size_t>(o.num_ps);  // worker:0
  const auto t0 = Clock::now();
  auto next_tick = t0 + std::chrono::milliseconds(static_cast<int64_t>(o.progress_interval_s * 1000));
  std::vector<std::string> notes(children.size());  // per task: what the launcher knows (exits, restarts)
  int restarts_used = 0;
  bool chief_restarted = false;
  bool forwarded = false;
  bool deadline_set = false;
  Clock::time_point deadline{};
  Status failure;
  while (reap(children)) {
    if (relay) relay->drain();
    for (size_t i = 0; i < children.size() && failure.ok(); ++i) {
      Child& c = children[i];
      if (c.running || !c.failed(i == chief)) continue;
      const std::string how = child_failure(c).message();
      // A task that died while training goes on is started again, as a Job controller or a
      // Kubernetes restartPolicy would: it rejoins (worker) or restores the last checkpoint (ps).
      if (restarts_used < o.restarts && !forwarded && !deadline_set && !(stop && *stop)) {
        ++restarts_used;
        chief_restarted = chief_restarted || i == chief;
        const std::string what = c.signaled ? "was killed by signal " + std::to_string(c.exit_code - 128)
                                            : "exited with code " + std::to_string(c.exit_code);
        say("podlab: " + c.task.name() + " " + what + "; restarting it (restart " + std::to_string(restarts_used) + " of " +
            std::to_string(o.restarts) + ")");
        char when[32];
        std::snprintf(when, sizeof when, "%.1f", std::chrono::duration<double>(Clock::now() - t0).count());
        notes[i] = what + " at " + when + " s, restarted (" + std::to_string(restarts_used) + " of " +
                   std::to_string(o.restarts) + ")";
        const pid_t pid = spawn(c.task);
        if (pid > 0) {
          c.pid = pid;
          c.running = true;
          c.exit_code = 0;
          c.signaled = false;
          continue;
        }
      }
      // Without restarts, training goes on without a killed worker other than the chief, as it does
      // in a real cluster: async never waits for it, sync waits only when too few workers remain (the
      // ps's state says so). A worker that exits with an error code is a failure (its flags, data).
      auto live_workers = [&] {
        int n = 0;
        for (size_t j = chief; j < children.size(); ++j) n += children[j].running ? 1 : 0;
        return n;
      };
      const bool can_go_on = trains_on_with(o.mode, o.replicas_to_aggregate, live_workers());
      const bool taken_away = c.killed() || c.stopped_by_signal();
      if (c.task.role == Role::kWorker && i != chief && taken_away && can_go_on && !forwarded && !(stop && *stop)) {
        char when[32];
        std::snprintf(when, sizeof when, "%.1f", std::chrono::duration<double>(Clock::now() - t0).count());
        const std::string how = c.killed() ? "was killed by signal " + std::to_string(c.exit_code - 128)
                                           : "was stopped by a signal (SIGINT or SIGTERM: it exited 130)";
        c.lost = how + " at " + when + " s; training went on without it";
        const std::string hint = " (--restart-failed N would start it again)";
        notes[i] = c.lost + (relay ? hint : "");
        say("podlab: " + c.task.name() + " " + c.lost + hint);
        continue;
      }
      failure = forwarded ? Status::Error(StatusCode::kInterrupted, "interrupted (" + how + ")") : child_failure(c);
    }
    if (!failure.ok()) break;
    if (stop && *stop && !forwarded) {
      forwarded = true;
      if (children[chief].running) ::kill(children[chief].pid, SIGINT);
    }
    if (!deadline_set && (forwarded || !children[chief].running)) {
      deadline_set = true;
      deadline = Clock::now() + std::chrono::milliseconds(o.grace_ms);
    }
    if (deadline_set && Clock::now() > deadline) {
      std::string names;
      for (const Child& c : children)
        if (c.running) names += (names.empty() ? "" : ", ") + c.task.name();
      failure = Status::Network(names + " still running " + std::to_string(o.grace_ms / 1000) +
                                " s after the chief finished; killed");
      break;
    }
    if (o.observer && Clock::now() >= next_tick) {
      std::vector<TaskProgress> tasks;
      for (size_t i = 0; i < children.size(); ++i) {
        TaskProgress p;
        std::string text;
        if (read_file(task_file(children[i].task, ".progress"), &text)) {
          auto parsed = parse_task_progress(text);
          if (parsed.ok()) p = *parsed;
        }
        p.name = children[i].task.name();
        if (!children[i].running && children[i].failed(i == chief))  // not the chief's 130 after a forwarded signal
          p.state = child_failure(children[i]).message();
        if (!notes[i].empty()) p.state += (p.state.empty() ? "" : "; ") + notes[i];
        tasks.push_back(p);
      }
      o.observer->on_tick(tasks, std::chrono::duration<double>(Clock::now() - t0).count());
      next_tick += std::chrono::milliseconds(static_cast<int64_t>(o.progress_interval_s * 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  kill_and_reap(children);
  if (relay) relay->finish();
  if (failure.ok())
    for (size_t i = 0; i < children.size(); ++i)
      if (children[i].failed(i == chief)) {
        failure = forwarded ? Status::Error(StatusCode::kInterrupted, "interrupted (" + child_failure(children[i]).message() + ")")
                            : child_failure(children[i]);
        break;
      }

  ClusterReport r;
  r.ps.resize(o.num_ps);
  r.workers.resize(o.num_workers);
  r.worker_status.resize(o.num_workers);
  for (const TaskId& t : spec.tasks()) {
    EndpointCounters c;
    c.name = t.name();
    r.transport.push_back(c);
  }
  if (failure.ok())
    for (size_t i = 0; i < children.size(); ++i) {
      const TaskId& t = children[i].task;
      if (!children[i].lost.empty()) {  // killed: it wrote no report; its last progress stands in
        WorkerStats& ws = r.workers[static_cast<size_t>(t.index)];
        ws.index = t.index;
        std::string text, counted;
        if (read_file(task_file(t, ".progress"), &text)) {
          auto p = parse_task_progress(text);
          if (p.ok()) {
            ws.pushes = p->pushes;
            ws.samples = p->applied;
            ws.retries = p->dropped;
            ws.train_loss = p->loss;  // its recent loss
            ws.compute_s = p->compute_s;
            ws.wait_s = p->wait_s;
            counted = "; its counters are from its last progress report, its traffic as the ps tasks counted it";
          }
        }
        r.worker_status[static_cast<size_t>(t.index)] = Status::Network(t.name() + " " + children[i].lost + counted);
        continue;
      }
      std::string text;
      if (!read_file(task_file(t, ".json"), &text)) {
        failure = Status::Internal(t.name() + " exited without writing its report " + task_file(t, ".json"));
        break;
      }
      failure = merge_task_report(text, &r);
      if (!failure.ok()) break;
    }
  cleanup();
  if (!failure.ok()) return failure;
  // A restarted chief's report covers its own life only, while the ps tasks' counters cover the whole
  // run: the run's time is the launcher's, start-up included, so samples/s are not inflated.
  if (chief_restarted) r.chief.seconds = std::max(r.chief.seconds, wall_s);
  r.chief.resumed_from_step = o.resumes_from_step;  // the run's, not a restarted chief's
  // A killed worker's traffic: what the ps tasks sent it and received from it.
  for (const Child& c : children) {
    if (c.lost.empty()) continue;
    EndpointCounters& w = r.transport[static_cast<size_t>(o.num_ps + c.task.index)];
    for (int k = 0; k < o.num_ps; ++k) {
      const auto& peers = r.transport[static_cast<size_t>(k)].peers;
      auto p = peers.find(c.task.name());
      if (p == peers.end()) continue;
      const std::string ps = "ps:" + std::to_string(k);
      w.peers[ps] = PeerCounters{p->second.messages_in, p->second.bytes_in, p->second.messages_out, p->second.bytes_out};
      w.messages_out += p->second.messages_in;
      w.bytes_out += p->second.bytes_in;
      w.messages_in += p->second.messages_out;
      w.bytes_in += p->second.bytes_out;
    }
  }
  return r;
}

std::string task_progress_json(const TaskProgress& p) {
  return json{{"task", p.name},           {"step", p.step},     {"pushes", p.pushes}, {"applied", p.applied},
              {"dropped", p.dropped},     {"loss", p.loss},     {"compute_s", p.compute_s}, {"wait_s", p.wait_s},
              {"done", p.done},           {"state", p.state},   {"heartbeat_age_s", p.heartbeat_age_s}}
      .dump();
}

Result<TaskProgress> parse_task_progress(const std::string& text) {
  try {
    const json j = json::parse(text);
    TaskProgress p;
    p.name = j.at("task").get<std::string>();
    p.step = j.at("step");
    p.pushes = j.at("pushes");
    p.applied = j.at("applied");
    p.dropped = j.at("dropped");
    p.loss = j.at("loss");
    p.compute_s = j.value("compute_s", 0.0);
    p.wait_s = j.value("wait_s", 0.0);
    p.done = j.at("done");
    p.state = j.at("state").get<std::string>();
    p.heartbeat_age_s = j.at("heartbeat_age_s").get<std::map<std::string, double>>();
    return p;
  } catch (const std::exception& e) {
    return Status::Data(std::string("bad progress file: ") + e.what());
  }
}

ProgressFileWriter::ProgressFileWriter(std::string path, const ProgressBoard* board, TaskId self)
    : path_(std::move(path)), board_(board), self_(self) {
  if (path_.empty() || !board_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      write();
      cv_.wait_for(lock, std::chrono::milliseconds(250));
    }
    write();
  });
}

ProgressFileWriter::~ProgressFileWriter() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ProgressFileWriter::write() {
  for (TaskProgress p : board_->snapshot()) {
    if (p.name != self_.name()) continue;
    const std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp);
      out << task_progress_json(p) << "\n";
      if (!out) return;  // progress is best effort; the final report is what counts
    }
    std::rename(tmp.c_str(), path_.c_str());
  }
}

}  // namespace podlab
