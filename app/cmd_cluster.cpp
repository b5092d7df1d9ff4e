// `podlab cluster run`: the TensorFlow-1 parameter-server model on one machine. N ps tasks and M
// workers run as threads over the inproc transport (optionally through a simulated network); the
// command prints the placement table, one progress line per second (JSON lines with --json or when
// stdout is not a terminal), epoch evaluations by the chief, and a summary ending, with --json, in
// the same `result` object as `podlab train` plus per-task counters.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "app/cluster_flags.h"
#include "app/command.h"
#include "app/json_line.h"
#include "app/progress_bar.h"
#include "engine/checkpoint.h"
#include "engine/train_defaults.h"
#include "app/train_setup.h"
#include "cluster/cluster_report.h"
#include "cluster/cluster_spec.h"
#include "cluster/job_desk.h"
#include "cluster/local_cluster.h"
#include "cluster/pod_identity.h"
#include "cluster/task_http.h"
#include "cluster/task_main.h"
#include "cluster/task_metrics.h"

namespace podlab {
namespace {

Result<std::vector<double>> parse_factors(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double f = std::strtod(item.c_str(), &end);
    if (item.empty() || *end || !(f >= 1.0))
      return Status::Usage("bad --sim-slowdown '" + text + "': expected factors >= 1 such as 1,1,4");
    out.push_back(f);
  }
  return out;
}

Result<std::map<int, int64_t>> parse_silence(const std::vector<std::string>& items, int workers) {
  std::map<int, int64_t> out;
  for (const std::string& s : items) {
    const size_t colon = s.find(':');
    char* e1 = nullptr;
    char* e2 = nullptr;
    const long w = colon == std::string::npos ? -1 : std::strtol(s.c_str(), &e1, 10);
    const long long n = colon == std::string::npos ? -1 : std::strtoll(s.c_str() + colon + 1, &e2, 10);
    if (colon == std::string::npos || e1 != s.c_str() + colon || *e2 || w < 0 || w >= workers || n < 0)
      return Status::Usage("bad --sim-kill-worker '" + s + "': expected I:N, worker I in 0.." +
                           std::to_string(workers - 1) + " going silent after N messages");
    if (out.count(static_cast<int>(w)))
      return Status::Usage("--sim-kill-worker names worker " + std::to_string(w) + " twice ('" + std::to_string(w) + ":" +
                           std::to_string(out[static_cast<int>(w)]) + "' and '" + s + "'): a worker goes silent once; keep one");
    out[static_cast<int>(w)] = n;
  }
  return out;
}

std::string task_line(const TaskProgress& t) {
  char buf[160];
  if (t.name.rfind("ps:", 0) == 0)
    std::snprintf(buf, sizeof buf, "%s v%lld g%lld", t.name.c_str(), static_cast<long long>(t.step),
                  static_cast<long long>(t.pushes));
  else
    std::snprintf(buf, sizeof buf, "%s %lld pushes loss %.3f", t.name.c_str(), static_cast<long long>(t.pushes), t.loss);
  return buf;
}

// The chief's result fields of a final `result` JSON line (the launcher's and a lone chief's).
// A run that carried on from the state its ps tasks held when the chief started: its result covers
// only the steps after.
std::string resumed_text(int64_t step) {
  return "resumed from step " + std::to_string(step) +
         ": the ps tasks held that state when the chief started (restored from --checkpoint-dir, or kept for a replacement "
         "chief); a fresh start needs an empty or new --checkpoint-dir";
}

void add_chief_result(const ChiefResult& c, JsonLine* j) {
  j->add("test_accuracy", c.test.accuracy)
      .add("test_loss", c.test.loss)
      .add("test_samples", c.test.samples)
      .add("epochs", c.epochs_completed)
      .add("steps", c.steps)
      .add("seconds", c.seconds)
      .add("interrupted", c.interrupted);
  if (c.resumed_from_step > 0) j->add("resumed_from_step", c.resumed_from_step);
}

class ClusterPrinter : public LocalClusterObserver {
 public:
  ClusterPrinter(bool json, const TrainingPlan& plan) : json_(json), plan_(plan) {}

  void on_tick(const std::vector<TaskProgress>& tasks, double elapsed) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    // Samples applied since the last tick, per worker: a restarted worker's counter starts again from
    // 0, so a counter that went down counts from 0 (the rate never goes negative).
    int64_t step = -1, samples = 0;
    for (const TaskProgress& t : tasks) {
      if (t.name.rfind("ps:", 0) == 0) {
        step = step < 0 ? t.step : std::min(step, t.step);
        continue;
      }
      int64_t& last = last_applied_[t.name];
      samples += t.applied >= last ? t.applied - last : t.applied;
      last = t.applied;
    }
    const double rate = elapsed > last_elapsed_ ? samples / (elapsed - last_elapsed_) : 0;
    last_elapsed_ = elapsed;
    const std::map<std::string, double> dead = dead_tasks(tasks);
    if (json_) {
      std::string arr = "[";
      for (size_t i = 0; i < tasks.size(); ++i) {
        const TaskProgress& t = tasks[i];
        std::string ages = "{";
        for (const auto& [peer, age] : t.heartbeat_age_s)
          ages += (ages.size() > 1 ? "," : "") + JsonLine::quote(peer) + ":" + JsonLine::number(age);
        arr += (i ? "," : "") + JsonLine()
                                    .add("task", t.name)
                                    .add("step", t.step)
                                    .add("pushes", t.pushes)
                                    .add("applied", t.applied)
                                    .add("dropped", t.dropped)
                                    .add("loss", t.loss)
                                    .add("done", t.done)
                                    .add("state", t.state)
                                    .raw("heartbeat_age_s", ages + "}")
                                    .str();
      }
      std::string dead_arr = "[";
      for (const auto& [name, age] : dead) dead_arr += (dead_arr.size() > 1 ? "," : "") + JsonLine::quote(name);
      JsonLine()
          .add("event", "progress")
          .add("elapsed_s", elapsed)
          .add("step", step)
          .add("total_steps", plan_.total_steps)
          .add("samples_per_s", rate)
          .raw("dead", dead_arr + "]")
          .raw("tasks", arr + "]")
          .print();
    } else {
      print_changes(tasks, dead, elapsed);
      draw_bar(tasks, step, rate, elapsed);
    }
  }

  // Task processes' lines (relay_output): their JSON epoch and checkpoint events are printed as this
  // process prints its own; anything else as it came, above the bar.
  void on_output(const std::string& /*source*/, bool is_stderr, const std::string& line) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (!is_stderr && !line.empty() && line[0] == '{') {
      try {
        const auto j = nlohmann::json::parse(line);
        const std::string event = j.value("event", "");
        if (event == "epoch") {
          ClusterEpochReport e;
          e.epoch = j.at("epoch");
          e.step = j.at("step");
          e.train_loss = j.at("train_loss");
          e.test.loss = j.at("test_loss");
          e.test.accuracy = j.at("test_accuracy");
          e.elapsed_s = j.at("elapsed_s");
          on_epoch(e);
          return;
        }
        if (event == "checkpoint") {
          on_checkpoint(j.at("path").get<std::string>(), j.at("step").get<int64_t>());
          return;
        }
      } catch (const std::exception&) {
        // not one of ours: printed as it is
      }
    }
    close();
    std::fprintf(is_stderr ? stderr : stdout, "%s\n", line.c_str());
    std::fflush(is_stderr ? stderr : stdout);
    redraw_bar();
  }

  // Terminal: erases the bar before the summary or an error takes its place.
  void close() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (bar_drawn_) clear_progress_bar();
    bar_drawn_ = false;
  }

  // Tasks some peer has not heard from for longer than the heartbeat timeout (the least silent age
  // any peer reports), and tasks the launcher found gone ("exited ..." states).
  std::map<std::string, double> dead_tasks(const std::vector<TaskProgress>& tasks) const {
    std::map<std::string, double> seen;  // task -> smallest age any peer reports
    for (const TaskProgress& t : tasks)
      if (!t.done)
        for (const auto& [peer, age] : t.heartbeat_age_s) {
          auto it = seen.find(peer);
          if (it == seen.end() || age < it->second) seen[peer] = age;
        }
    std::map<std::string, double> dead;
    for (const TaskProgress& t : tasks) {
      auto it = seen.find(t.name);
      if (!t.done && it != seen.end() && it->second * 1000 > plan_.heartbeat_timeout_ms) dead[t.name] = it->second;
    }
    return dead;
  }

  void on_checkpoint(const std::string& path, int64_t step) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (json_) {
      JsonLine().add("event", "checkpoint").add("step", step).add("path", path).print();
    } else {
      close();
      std::printf("checkpoint of the ps state at step %lld: %s\n", static_cast<long long>(step), path.c_str());
      redraw_bar();
    }
    std::fflush(stdout);
  }

  void on_epoch(const ClusterEpochReport& e) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (json_) {
      JsonLine()
          .add("event", "epoch")
          .add("epoch", e.epoch)
          .add("step", e.step)
          .add("train_loss", e.train_loss)
          .add("test_loss", e.test.loss)
          .add("test_accuracy", e.test.accuracy)
          .add("elapsed_s", e.elapsed_s)
          .print();
    } else {
      close();
      std::printf("epoch %d (step %lld): chief train loss %.4f | test loss %.4f acc %.4f | %.1f s\n", e.epoch,
                  static_cast<long long>(e.step), e.train_loss, e.test.loss, e.test.accuracy, e.elapsed_s);
      redraw_bar();
      std::fflush(stdout);
    }
  }

  bool should_stop() override { return g_cluster_stop != 0 && !should_leave(); }
  bool should_leave() override { return leave_on_sigterm_ && g_cluster_stop != 0 && g_first_signal == SIGTERM; }
  // A chief in its own process (`podlab worker`, a pod): SIGTERM means the pod is going away.
  void leave_on_sigterm() { leave_on_sigterm_ = true; }

 private:
  // Terminal: a line, kept in the scrollback, for each change in a task's lot: silent past the
  // heartbeat timeout (dead), heard again, or a state the launcher or the task reports (exited,
  // killed, restarted, waiting for workers).
  void print_changes(const std::vector<TaskProgress>& tasks, const std::map<std::string, double>& dead, double elapsed) {
    for (const TaskProgress& t : tasks) {
      Note& note = notes_[t.name];
      const int64_t progress = t.step + t.pushes;
      std::string what;
      if (dead.count(t.name) && !note.dead) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "DEAD (silent for %.1f s)", dead.at(t.name));
        what = buf;
        note.dead = true;
        note.progress_when_dead = progress;
      } else if (!dead.count(t.name) && note.dead && progress != note.progress_when_dead) {
        // Not when its peers merely stopped reporting ages (they finished): it must have moved on.
        what = "heard from again";
        note.dead = false;
      }
      // A state is the task's own and the launcher's notes, joined by "; ": each part is news once.
      std::set<std::string> kinds;
      for (size_t at = 0; at < t.state.size();) {
        size_t end = t.state.find("; ", at);
        if (end == std::string::npos) end = t.state.size();
        const std::string part = t.state.substr(at, end - at);
        const std::string kind = without_measures(part);
        if (!part.empty() && !note.state_kinds.count(kind)) what += (what.empty() ? "" : "; ") + part;
        kinds.insert(kind);
        at = end + 2;
      }
      note.state_kinds = std::move(kinds);
      if (what.empty()) continue;
      close();
      std::printf("%6.1fs %s: %s\n", elapsed, t.name.c_str(), what.c_str());
    }
  }

  // A state without its measures ("worker:1 silent 3.2 s" -> "worker:1 silent # s"): a state that
  // only counts on is not news.
  static std::string without_measures(const std::string& state) {
    std::string out;
    for (size_t i = 0; i < state.size();) {
      size_t j = i;
      while (j < state.size() && (std::isdigit(static_cast<unsigned char>(state[j])) || state[j] == '.')) ++j;
      const std::string number = state.substr(i, j - i);
      if (j > i && number.find('.') != std::string::npos && number != ".") {
        out += '#';
        i = j;
      } else {
        out += state[i++];
      }
    }
    return out;
  }

  // Terminal: the bar (the ps tasks' step of the total) with the ETA from the rate since the first
  // step, the samples/s of the last tick, and as much of each task's counters as the width allows.
  void draw_bar(const std::vector<TaskProgress>& tasks, int64_t step, double rate, double elapsed) {
    if (step > 0 && first_step_ < 0) first_step_ = step, first_elapsed_ = elapsed;
    const double steps_per_s = first_step_ >= 0 && elapsed > first_elapsed_ ? (step - first_step_) / (elapsed - first_elapsed_) : 0;
    bar_eta_ = steps_per_s > 0 ? (plan_.total_steps - step) / steps_per_s : -1;
    bar_fraction_ = plan_.total_steps > 0 ? static_cast<double>(std::max<int64_t>(step, 0)) / plan_.total_steps : 0;
    char head[96];
    std::snprintf(head, sizeof head, "step %lld/%lld  %.0f samples/s", static_cast<long long>(std::max<int64_t>(step, 0)),
                  static_cast<long long>(plan_.total_steps), rate);
    // Within the width (a wrapped line is not redrawn in place): fewer cells, then no ETA, then fewer still.
    const int columns = terminal_columns() - 1;
    bar_cells_ = std::clamp(columns - progress_bar_columns("training", bar_eta_, 0), kMinBarCells, kBarCells);
    if (progress_bar_columns("training", bar_eta_, bar_cells_) > columns) {
      bar_eta_ = -1;
      bar_cells_ = std::clamp(columns - progress_bar_columns("training", -1, 0), 1, kBarCells);
    }
    const int room = columns - progress_bar_columns("training", bar_eta_, bar_cells_);
    std::string suffix = head;
    for (const TaskProgress& t : tasks) {
      const std::string more = "  " + task_line(t);
      if (static_cast<int>(suffix.size() + more.size()) > room) break;
      suffix += more;
    }
    if (static_cast<int>(suffix.size()) > room) suffix.clear();
    bar_suffix_ = suffix;
    bar_started_ = true;
    redraw_bar();
  }

  void redraw_bar() {
    if (!bar_started_) return;  // no tick yet
    draw_progress_bar(bar_fraction_, bar_eta_, "training", bar_suffix_, bar_cells_);
    bar_drawn_ = true;
  }

  // The launcher's ticks and the chief's epochs and checkpoints come from different threads (the
  // chief is a thread of this process with --transport threads): one at a time on the terminal, or a
  // bar could be drawn between another line's erasing it and printing.
  std::recursive_mutex mu_;
  bool leave_on_sigterm_ = false;
  bool json_;
  const TrainingPlan& plan_;
  double last_elapsed_ = 0;
  std::map<std::string, int64_t> last_applied_;  // worker name -> its applied counter at the last tick
  // Terminal only:
  struct Note {  // what was last printed of a task
    bool dead = false;
    int64_t progress_when_dead = 0;  // its step + pushes then
    std::set<std::string> state_kinds;  // without_measures() of each part of its state
  };
  std::map<std::string, Note> notes_;
  bool bar_started_ = false, bar_drawn_ = false;  // drawn: on screen now
  static constexpr int kBarCells = 28, kMinBarCells = 10;
  int bar_cells_ = kBarCells;
  double bar_fraction_ = 0, bar_eta_ = -1;
  std::string bar_suffix_;
  int64_t first_step_ = -1;
  double first_elapsed_ = 0;
};

void print_summary(const ClusterReport& r, const TrainingPlan& plan, const Dataset& data, bool json) {
  const ChiefResult& c = r.chief;
  if (!json) {
    std::printf("%stest accuracy: %.4f  (test loss %.4f, %lld steps, %.1f s, %.0f samples/s applied, %.0f computed)\n",
                cluster_summary_text(r, plan).c_str(), c.test.accuracy, c.test.loss, static_cast<long long>(c.steps),
                c.seconds, cluster_samples_per_s(r), cluster_computed_samples_per_s(r));
    if (c.resumed_from_step > 0) std::printf("%s\n", resumed_text(c.resumed_from_step).c_str());
    return;
  }
  JsonLine j;
  j.add("event", "result");
  add_chief_result(c, &j);
  j.add("samples_per_s", cluster_samples_per_s(r))
      .add("computed_samples_per_s", cluster_computed_samples_per_s(r))
      .add("model", plan.train.model.to_string())
      .add("dataset", data.name)
      .add("mode", plan.mode.to_string())
      .add("ps", static_cast<int>(r.ps.size()))
      .add("workers", static_cast<int>(r.workers.size()))
      .add("placement", r.placement.strategy)
      .raw("ps_tasks", ps_counters_json(r))
      .raw("worker_tasks", worker_counters_json(r))
      .raw("transport", transport_counters_json(r))
      .print();
}

Status make_plan(ClusterFlags& f, const Setup& setup, TrainingPlan* out);
void print_start(const ClusterFlags& f, const TrainingPlan& plan, const Dataset& data, const ParamLayout& layout,
                 const Placement& placement, bool json);

// How often a terminal's progress bar is redrawn (JSON progress lines come every second).
constexpr double kBarInterval_s = 0.25;

int run_cluster(ClusterFlags& f) {
  if (!f.cluster_spec.empty()) {
    auto spec = load_cluster_spec(f.cluster_spec);
    if (!spec.ok()) return report(spec.status());
    f.ps = spec->num_ps();
    f.workers = spec->num_workers();
  }
  auto slowdown = parse_factors(f.slowdown);
  if (!slowdown.ok()) return report(slowdown.status());
  if (slowdown->size() > static_cast<size_t>(f.workers))
    return report(Status::Usage("--sim-slowdown gives " + std::to_string(slowdown->size()) + " factors for " +
                                std::to_string(f.workers) + " workers: give at most one per worker"));
  auto silence = parse_silence(f.silence, f.workers);
  if (!silence.ok()) return report(silence.status());

  const bool processes = f.transport == "processes";
  if (!processes && f.restart_failed > 0)
    return report(Status::Usage("--restart-failed restarts task processes: use it with --transport processes"));
  if (processes && (f.latency_ms > 0 || f.jitter_ms > 0 || f.bandwidth_mbps > 0 || f.loss > 0 || !f.slowdown.empty() ||
                    !f.silence.empty()))
    return report(Status::Usage("the --sim-* flags simulate a network for --transport threads; processes use real sockets"));
  if (!processes && !f.keys_dir.empty())
    return report(Status::Usage("--keys secures the zmq links between processes; add --transport processes (threads share memory)"));
  if (processes) {
    // Check the keys every task will load before starting any (a bad file: exit 3 here, not in a child).
    // Children get --keys, or inherit PODLAB_KEYS.
    f.keys_dir = curve_keys_dir(f.keys_dir);
    if (!f.keys_dir.empty())
      for (const TaskId& t : {TaskId{Role::kPs, 0}, TaskId{Role::kWorker, 0}}) {
        auto keys = load_curve_keys(f.keys_dir, t);
        if (!keys.ok()) return report(keys.status());
      }
  }
  const ClusterFlags given = f;  // before make_setup fills in defaults: what the task processes get
  LocalClusterOptions o;
  f.setup.shape_only = processes;  // the task processes read the samples, this one only plans
  auto setup = make_setup(f.setup);
  if (!setup.ok()) return report(setup.status());
  const Dataset& data = setup->data;
  Status st = make_plan(f, *setup, &o.plan);
  if (!st.ok()) return report(st);
  const TrainingPlan& plan = o.plan;
  o.num_ps = f.ps;
  o.placement = f.placement;
  o.network.link = {f.latency_ms, f.jitter_ms, f.bandwidth_mbps, f.loss};
  o.network.worker_slowdown = *slowdown;
  o.network.worker_silent_after = *silence;
  o.network.seed = f.sim_seed;
  const bool json = f.json || !stdout_is_terminal();
  const ParamLayout& layout = setup->trainer->layout();
  auto placement = make_placement(layout, f.ps, f.placement);
  if (!placement.ok()) return report(placement.status());
  print_start(f, plan, data, layout, *placement, json);

  catch_stop_signals();
  Result<ClusterReport> result = Status::Internal("not run");
  ClusterPrinter printer(json, plan);
  if (processes) {
    ProcessClusterOptions po;
    po.num_ps = f.ps;
    po.num_workers = f.workers;
    po.relay_output = !json;  // the bar stays whole: the tasks' lines come through the printer
    po.task_args = task_args(given, true);
    po.restarts = f.restart_failed;
    po.mode = plan.mode;
    po.replicas_to_aggregate = plan.replicas_to_aggregate;
    po.has_checkpoint_dir = !f.checkpoint_dir.empty();
    if (po.has_checkpoint_dir)
      if (auto path = latest_checkpoint(f.checkpoint_dir); path.ok())
        if (auto ckpt = load_checkpoint(*path); ckpt.ok()) po.resumes_from_step = ckpt->position.step;
    po.observer = &printer;
    if (!json) po.progress_interval_s = kBarInterval_s;
    result = run_process_cluster(po, &g_cluster_stop);
    if (result.ok()) result->placement = *placement;
  } else {
    if (!json) o.progress_interval_s = kBarInterval_s;
    result = run_local_cluster(o, data, &printer);
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  printer.close();
  if (!result.ok()) return report(result.status());
  print_summary(*result, plan, data, json);
  return result->chief.interrupted ? static_cast<int>(StatusCode::kInterrupted) : 0;
}

// The plan every task agrees on, from the flags (f.workers set) and the loaded setup.
Status make_plan(ClusterFlags& f, const Setup& setup, TrainingPlan* out) {
  auto mode = SyncMode::parse(f.mode);
  if (!mode.ok()) return mode.status();
  // A waiting worker is heard every --heartbeat-ms: limits that short report live peers dead.
  char limits[160];
  std::snprintf(limits, sizeof limits, "--heartbeat-timeout-s %g and --peer-timeout-s %g against --heartbeat-ms %d",
                f.heartbeat_timeout_s, f.peer_timeout_s, f.heartbeat_ms);
  if (f.heartbeat_timeout_s * 1000 < 2.0 * f.heartbeat_ms || f.peer_timeout_s * 1000 < 2.0 * f.heartbeat_ms)
    return Status::Usage(std::string(limits) +
                         ": each timeout must be at least two heartbeats, or live peers are taken for dead between them "
                         "(the defaults: 3 s and 30 s against 500 ms)");
  // Flags that mean nothing in this mode: said once (by the launcher, not by each of its children),
  // not silently ignored.
  const bool say = f.progress_file.empty();
  if (say && mode->kind != SyncMode::Kind::kSync && f.replicas > 0)
    std::fprintf(stderr, "podlab: note: --replicas-to-aggregate applies to --mode sync only; ignored in %s\n", f.mode.c_str());
  if (say && mode->kind != SyncMode::Kind::kAsync && f.overlap)
    std::fprintf(stderr, "podlab: note: --overlap applies to --mode async only; %s workers wait for every answer\n", f.mode.c_str());
  const bool default_schedule = setup.default_schedule;  // make_setup has filled in f.setup.lr_schedule
  const Dataset& data = setup.data;
  TrainingPlan& plan = *out;
  plan.train = setup.trainer->config();
  plan.mode = *mode;
  plan.num_workers = f.workers;
  plan.replicas_to_aggregate = f.replicas > 0 ? f.replicas : f.workers;
  plan.epochs = f.setup.epochs;
  plan.train_count = data.train.count;
  plan.eval_limit = f.eval_limit;
  plan.retry_ms = f.retry_ms;
  plan.job_id = f.job_id;
  plan.overlap = f.overlap;
  plan.heartbeat_ms = f.heartbeat_ms;
  plan.heartbeat_timeout_ms = static_cast<int>(f.heartbeat_timeout_s * 1000);
  plan.peer_timeout_ms = static_cast<int>(f.peer_timeout_s * 1000);
  plan.connect_timeout_ms = static_cast<int>(f.connect_timeout_s * 1000);
  plan.checkpoint_dir = f.checkpoint_dir;
  plan.checkpoint_every_steps = f.checkpoint_every_steps;
  plan.checkpoint_secs = f.checkpoint_secs;
  if (!f.checkpoint_dir.empty() && f.checkpoint_every_steps == 0 && f.checkpoint_secs == 0) plan.checkpoint_secs = 60;
  plan.dataset = data.name;
  plan.train_labels_crc = data.train.labels_crc;
  PODLAB_RETURN_IF_ERROR(finish_plan(plan, f.max_steps));
  if (default_schedule) {
    // The model's default decay is per epoch; a sync step covers workers x batch samples.
    const float decay = train_defaults(plan.train.model.kind).decay_per_epoch;
    if (decay != 1.0f) plan.train.optimizer.schedule = *LrSchedule::parse("exp:" + std::to_string(decay) + ":" + std::to_string(plan.steps_per_epoch));
  }
  return Status::Ok();
}

void print_start(const ClusterFlags& f, const TrainingPlan& plan, const Dataset& data, const ParamLayout& layout,
                 const Placement& placement, bool json) {
  const TrainConfig& c = plan.train;
  if (json) {
    JsonLine()
        .add("event", "start")
        .add("model", c.model.to_string())
        .add("dataset", data.name)
        .add("parameters", static_cast<int64_t>(layout.parameter_count()))
        .add("optimizer", c.optimizer.name)
        .add("lr", static_cast<double>(c.optimizer.lr))
        .add("batch", c.batch)
        .add("epochs", plan.epochs)
        .add("seed", static_cast<int64_t>(c.seed))
        .add("transport", f.transport)
        .add("curve_keys", f.transport == "processes" ? f.keys_dir : std::string())
        .add("mode", plan.mode.to_string())
        .add("ps", f.ps)
        .add("workers", f.workers)
        .add("replicas_to_aggregate", plan.mode.kind == SyncMode::Kind::kSync ? plan.replicas_to_aggregate : 0)  // 0: not sync
        .add("steps_per_epoch", plan.steps_per_epoch)
        .add("total_steps", plan.total_steps)
        .raw("placement", placement_json(placement, layout))
        .print();
  } else {
    std::printf("podlab cluster: %s on %s, %zu parameters; %d ps + %d workers %s, mode %s", c.model.to_string().c_str(),
                data.name.c_str(), layout.parameter_count(), f.ps, f.workers,
                f.transport != "processes" ? "on threads"
                : f.keys_dir.empty()       ? "as processes (zmq on 127.0.0.1)"
                                           : "as processes (zmq on 127.0.0.1, CURVE-encrypted)",
                plan.mode.to_string().c_str());
    if (plan.mode.kind == SyncMode::Kind::kSync) std::printf(" (aggregate %d)", plan.replicas_to_aggregate);
    // --max-steps may end training before the epochs do: say which limit holds.
    const long long steps = static_cast<long long>(plan.total_steps);
    const long long epoch_steps = static_cast<long long>(plan.epochs) * plan.steps_per_epoch;
    char length[128];
    if (steps < epoch_steps)
      std::snprintf(length, sizeof length, "%lld step%s (--max-steps; an epoch is %lld)", steps, steps == 1 ? "" : "s",
                    static_cast<long long>(plan.steps_per_epoch));
    else
      std::snprintf(length, sizeof length, "%d epoch%s = %lld step%s", plan.epochs, plan.epochs == 1 ? "" : "s", steps,
                    steps == 1 ? "" : "s");
    std::printf("\n  %s lr %g, batch %d per worker, %s, seed %llu\n%s", c.optimizer.name.c_str(), c.optimizer.lr, c.batch,
                length, static_cast<unsigned long long>(c.seed), placement_table(placement, layout).c_str());
    std::fflush(stdout);
  }
}

void add_task_flags(CLI::App& cmd, ClusterFlags& f);

// Task flags from an argument list (a submitted job's, the pods' of a k8s render) into *f, as a task
// process would read them; `whose` starts the usage error ("the job's flags").
Status parse_task_flags(const std::vector<std::string>& args, const std::string& whose, ClusterFlags* f) {
  CLI::App app("task");
  add_task_flags(app, *f);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return Status::Usage(whose + ": " + e.what());
  }
  return Status::Ok();
}

// One training job of a task over an open transport: set-up, plan, the ps or worker run, the report
// (task_main.h) to --report when given. *report_json gets the report; returns the exit code.
// A worker on its own (podlab worker, a pod) ends with one line: the chief its result (stdout, as
// JSON with --json or when stdout is no terminal), any other worker what it did (stderr).
// What a chief that stopped training early reports (exit 130, its run otherwise ok): on SIGINT or
// SIGTERM, or told STOP by ps 0 of wait-for-job servers ending its job.
Status stopped_early(const TaskId& task, const ChiefResult& chief) {
  if (chief.ended_by_ps)
    return Status::Error(StatusCode::kInterrupted, task.name() + " stopped at step " + std::to_string(chief.steps) +
                                                       ": ps:0 ended the job (its submitter cancelled it, or workers it needs failed)");
  return Status::Error(StatusCode::kInterrupted, task.name() + " stopped training on a signal (SIGINT or SIGTERM)");
}

// `code`: the task's exit code, with `failure` (the status that caused it) when it failed; a chief that
// failed still says how far it got (its error is on stderr).
void print_task_end(const TaskId& task, bool json, const WorkerStats& ws, const ChiefResult* chief, int code, const Status& failure) {
  if (chief && !failure.ok()) {
    if (json) {
      JsonLine j;
      j.add("event", "result").add("task", task.name()).add("code", code).add("message", failure.message());
      add_chief_result(*chief, &j);
      j.print();
    } else {
      std::printf("%s: stopped at step %lld (%d epoch%s done) after %.1f s", task.name().c_str(), static_cast<long long>(chief->steps),
                  chief->epochs_completed, chief->epochs_completed == 1 ? "" : "s", chief->seconds);
      if (chief->test.samples > 0) std::printf("; last test accuracy %.4f, loss %.4f", chief->test.accuracy, chief->test.loss);
      std::printf("\n");
    }
    std::fflush(stdout);
    return;
  }
  if (!failure.ok()) return;  // a worker other than the chief: its error says it all
  if (!chief) {
    std::fprintf(stderr, "podlab: %s: done: %lld pushes, %lld samples, %.1f s computing, %.1f s waiting\n", task.name().c_str(),
                 static_cast<long long>(ws.pushes), static_cast<long long>(ws.samples), ws.compute_s, ws.wait_s);
    return;
  }
  if (json) {
    JsonLine j;
    j.add("event", "result").add("task", task.name()).add("code", code);
    j.add("message", chief->interrupted ? stopped_early(task, *chief).message() : std::string());
    add_chief_result(*chief, &j);
    j.print();
  } else {
    std::printf("%s: test accuracy %.4f, loss %.4f on %d samples after %lld steps (%d epoch%s) in %.1f s%s\n",
                task.name().c_str(), chief->test.accuracy, chief->test.loss, chief->test.samples,
                static_cast<long long>(chief->steps), chief->epochs_completed, chief->epochs_completed == 1 ? "" : "s", chief->seconds,
                chief->ended_by_ps ? " (ps:0 ended the job early)" : chief->interrupted ? " (interrupted)" : "");
  }
  std::fflush(stdout);
}

// Where run_task_job gets its transport: made once the job's data is loaded, or a server's own.
using TransportSource = std::function<Result<Transport*>()>;
TransportSource existing(Transport* transport) {
  return [transport]() -> Result<Transport*> { return transport; };
}

int run_task_job(ClusterFlags& f, const TaskId& task, const TransportSource& open_transport, TaskMetrics& metrics, JobDesk* desk,
                 std::string* report_json) {
  const Role role = task.role;
  // A chief on its own (a pod) takes SIGTERM as its pod going away, also before it trains (loading
  // the data, waiting for its ps): it exits 143, so a replacement is started (a Job, the launcher's
  // --restart-failed), not 130, which would end the run. A wait-for-job chief stops its job instead.
  const bool leaves_on_sigterm = role == Role::kWorker && task.index == 0 && !f.wait_for_job;
  auto leaving = [&](const Status& st) {
    if (!leaves_on_sigterm || st.code() != StatusCode::kInterrupted || g_first_signal != SIGTERM) return st;
    return Status::Error(StatusCode::kPreempted, st.message() + " (SIGTERM before training: the pod is going away; the ps "
                                                                "tasks go on, for a replacement chief)");
  };
  auto fail = [&](const Status& failure) {
    const Status st = leaving(failure);
    *report_json = task_report_json(task, st, nullptr, nullptr, nullptr, nullptr);
    metrics.set_phase("failed");
    return report(st.With(task.name()));
  };
  metrics.set_phase("loading");
  f.setup.shape_only = role == Role::kPs;  // a ps builds the model from the shape, never reads a sample
  auto setup = make_setup(f.setup);
  if (!setup.ok()) return fail(setup.status());
  TrainingPlan plan;
  Status st = make_plan(f, *setup, &plan);
  if (!st.ok()) return fail(st);
  metrics.set_total_steps(plan.total_steps);
  auto placement = make_placement(setup->trainer->layout(), f.ps, f.placement);
  if (!placement.ok()) return fail(placement.status());
  // A signal while the data loaded: nothing has started that could be stopped politely.
  if (g_cluster_stop) return fail(Status::Error(StatusCode::kInterrupted, "interrupted while loading the data"));
  auto opened = open_transport();
  if (!opened.ok()) return fail(opened.status());
  Transport* transport = *opened;

  Context ctx;
  ctx.self = task;
  ctx.plan = &plan;
  ctx.placement = &*placement;
  ctx.transport = transport;
  ctx.data = &setup->data;
  ctx.board = metrics.board();
  ctx.jobs = desk;
  const bool on_its_own = f.progress_file.empty();  // not a launcher's child (podlab ps|worker, a pod)
  ctx.log_peers = on_its_own;
  ProgressFileWriter progress_file(f.progress_file, metrics.board(), task);
  const bool json = f.json || !stdout_is_terminal();
  ClusterPrinter printer(json, plan);
  MetricsObserver observer(&metrics, &printer);
  const bool chief = role == Role::kWorker && task.index == 0;
  // A submitted job has no replacement chief to resume it (a wait-for-job server stops on the signal
  // too, and its submitter is waiting for the result): SIGTERM stops that job as SIGINT does.
  if (leaves_on_sigterm) printer.leave_on_sigterm();
  if (chief)
    ctx.observer = &observer;
  else
    ctx.stop = &g_cluster_stop;
  if (g_cluster_stop && !chief) return fail(Status::Error(StatusCode::kInterrupted, "interrupted during set-up"));
  int code = 0;
  if (role == Role::kPs) {
    auto server = PsServer::create(ctx);
    if (!server.ok()) return fail(server.status());
    if (on_its_own)
      std::fprintf(stderr, "podlab: %s: serving %zu floats of the model at %s for %d worker%s\n", task.name().c_str(),
                   placement->shards[static_cast<size_t>(task.index)].size(), transport->config().cluster.address(task).c_str(),
                   plan.num_workers, plan.num_workers == 1 ? "" : "s");
    metrics.set_phase("training");
    metrics.set_ready(true);
    st = (*server)->run();
    if (!f.wait_for_job) transport->shutdown();
    const PsStats ps = (*server)->stats();
    const auto counters = transport->counters();
    *report_json = task_report_json(task, st, &ps, nullptr, nullptr, &counters.at(0));
  } else {
    auto worker = Worker::create(ctx);
    if (!worker.ok()) return fail(worker.status());
    metrics.set_phase("training");
    metrics.set_ready(true);
    st = leaving((*worker)->run());  // a chief on its own interrupted by SIGTERM before it could leave politely
    if (!f.wait_for_job) transport->shutdown();
    const WorkerStats ws = (*worker)->stats();
    const auto counters = transport->counters();
    if (st.ok() && chief && (*worker)->chief_result().interrupted) code = static_cast<int>(StatusCode::kInterrupted);
    // The report's code is the exit code: a chief that stopped the cluster on a signal says so.
    const Status reported =
        code == static_cast<int>(StatusCode::kInterrupted) && st.ok() ? stopped_early(task, (*worker)->chief_result()) : st;
    *report_json = task_report_json(task, reported, nullptr, &ws, chief ? &(*worker)->chief_result() : nullptr, &counters.at(0));
    if (on_its_own) print_task_end(task, json, ws, chief ? &(*worker)->chief_result() : nullptr, st.ok() ? code : st.exit_code(), st);
  }
  if (!f.report_file.empty()) {
    std::ofstream out(f.report_file);
    out << *report_json << "\n";
    if (!out) return report(Status::Io("cannot write the task report " + f.report_file));
  }
  metrics.set_phase(st.ok() ? "done" : "failed");
  if (!st.ok()) return report(st.With(task.name()));
  return code;
}

// A job's training flags (`podlab submit` sends them as task_args() makes them) over the server's own
// flags (cluster, index, ports, files, keys stay the server's). `id`: the job id of the message's
// header, by which ps 0 queues the job and keeps its result; the text must name the same.
// `running`: the servers' cluster spec.
Result<ClusterFlags> job_flags(const ClusterFlags& server, const ClusterSpec& running, const std::string& job_text, int64_t id) {
  std::vector<std::string> args;
  try {
    const auto j = nlohmann::json::parse(job_text);
    const int64_t text_id = j.at("id").get<int64_t>();
    if (text_id != id)
      return Status::Config("a malformed job: its text names job " + std::to_string(text_id) + ", its header job " + std::to_string(id));
    args = j.at("args").get<std::vector<std::string>>();
    if (j.contains("cluster")) {  // podlab submit's spec, as task counts: it must be the one the servers run
      const int ps = j.at("cluster").at("ps").get<int>(), workers = j.at("cluster").at("workers").get<int>();
      const int our_ps = running.num_ps(), our_workers = running.num_workers();
      if (ps != our_ps || workers != our_workers)
        return Status::Config("the job was submitted with a cluster spec of " + tasks_text(ps, workers) + ", but these servers run " +
                              tasks_text(our_ps, our_workers) + ": give podlab submit the --cluster the servers were started with "
                              "(or restart the servers with the new spec)");
    }
  } catch (const std::exception& e) {
    return Status::Config(std::string("a malformed job: ") + e.what());
  }
  ClusterFlags f;
  PODLAB_RETURN_IF_ERROR(parse_task_flags(args, "the job's flags", &f));
  f.cluster_spec = server.cluster_spec;
  f.index = server.index;
  f.report_file = server.report_file;
  f.progress_file = server.progress_file;
  f.metrics_port = server.metrics_port;
  f.dns_timeout_s = server.dns_timeout_s;
  f.keys_dir = server.keys_dir;
  f.connect_timeout_s = server.connect_timeout_s;  // its transport waits that long already
  f.json = server.json;
  f.ps = server.ps;
  f.workers = server.workers;
  f.wait_for_job = true;
  f.job_id = id;
  return f;
}

// A wait-for-job worker: asks ps 0 for a job other than the last it ran (JOB), runs it, the chief
// hands the report to ps 0 (RESULT); until ps 0 answers STOP (exit 0) or nothing for --peer-timeout-s.
int serve_worker_jobs(const ClusterFlags& server, const TaskId& task, Transport* transport, TaskMetrics& metrics) {
  using Clock = std::chrono::steady_clock;
  const TaskId ps0{Role::kPs, 0};
  int64_t last_job = 0;
  uint32_t seq = 1u << 31;  // never a training request's number
  Clock::time_point heard = Clock::now();
  Status refused;  // ps 0 refused this process: another one runs with its index (zmq transport)
  // Sends one request to ps 0 and waits up to 500 ms for its answer.
  auto ask = [&](MessageType type, int64_t step, const std::string& text, MessageHeader* answer, Bytes* bytes) {
    MessageHeader h;
    h.type = type;
    h.sender_role = Role::kWorker;
    h.sender_index = static_cast<uint16_t>(task.index);
    h.step = step;
    h.seq = ++seq;
    Status st = transport->send(task, ps0, text.empty() ? encode_message(h, nullptr) : encode_text_message(h, text));
    if (!st.ok()) return st;
    const Clock::time_point until = Clock::now() + std::chrono::milliseconds(500);
    while (Clock::now() < until) {
      Envelope env;
      if (transport->receive(task, &env, std::chrono::milliseconds(50)) != ReceiveStatus::kMessage) continue;
      auto a = decode_message(env.data(), env.size());
      if (a.ok() && env.from == ps0 && a->type == MessageType::kRefuse && a->count > 0) {
        try {
          const auto r = nlohmann::json::parse(read_text(env.data(), *a));
          if (r.value("duplicate", false)) {
            refused = Status::Error(static_cast<StatusCode>(r.at("code").get<int>()),
                                    "ps:0 refused this process: " + r.at("message").get<std::string>());
            return refused;
          }
        } catch (const std::exception&) {
        }
      }
      if (!a.ok() || env.from != ps0 || a->seq != h.seq || !check_message_range(*a, 1, 0).ok()) continue;
      heard = Clock::now();
      *answer = *a;
      *bytes = env.take_bytes();
      return Status::Ok();
    }
    return Status::Error(StatusCode::kNetwork, "no answer");
  };
  metrics.set_phase("waiting-for-job");
  metrics.set_ready(true);
  const int interrupted = static_cast<int>(StatusCode::kInterrupted);
  bool job_signalled = false;  // the signal stopped the last job, which has said so already
  for (;;) {
    if (g_cluster_stop)
      return job_signalled ? interrupted : report(Status::Error(StatusCode::kInterrupted, task.name() + " interrupted by a signal"));
    if (Clock::now() - heard > std::chrono::milliseconds(static_cast<int64_t>(server.peer_timeout_s * 1000)))
      return report(Status::Network(task.name() + ": ps:0 has not answered for " + std::to_string(static_cast<int>(server.peer_timeout_s)) +
                                    " s while this worker waited for a job; giving up (--peer-timeout-s)"));
    MessageHeader a;
    Bytes bytes;
    Status st = ask(MessageType::kJob, last_job, "", &a, &bytes);
    if (!refused.ok()) return report(refused.With(task.name()));
    if (st.ok() && a.type == MessageType::kStop) {
      std::fprintf(stderr, "podlab: %s: the servers were shut down (podlab submit --shutdown)\n", task.name().c_str());
      return 0;
    }
    if (!st.ok() || a.type != MessageType::kJob || a.count == 0) {
      if (!st.ok() && st.code() != StatusCode::kNetwork) return report(st.With(task.name()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    const int64_t id = a.step;
    auto f = job_flags(server, transport->config().cluster, read_text(bytes.data(), a), id);
    last_job = a.step;
    std::string report_json;
    int code = 0;
    if (!f.ok()) {
      code = report(f.status().With(task.name() + ": job " + std::to_string(id)));
      report_json = task_report_json(task, f.status(), nullptr, nullptr, nullptr, nullptr);
    } else {
      std::fprintf(stderr, "podlab: %s: running job %lld\n", task.name().c_str(), static_cast<long long>(id));
      code = run_task_job(*f, task, existing(transport), metrics, nullptr, &report_json);
    }
    job_signalled = code == interrupted && g_cluster_stop;
    metrics.set_phase("waiting-for-job");
    // The chief hands the job's report to ps 0, for the client; another worker its failure, so that
    // ps 0 ends a job that cannot go on without it (and the client hears why).
    // Within --peer-timeout-s: a ps 0 that has gone (each send waits up to --connect-timeout-s for it)
    // is then the next JOB request's to find.
    const Clock::time_point give_up = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(server.peer_timeout_s * 1000));
    if (task.index == 0 || (code != 0 && !g_cluster_stop))
      for (int tries = 0; tries < 20 && Clock::now() < give_up; ++tries)
        if (ask(MessageType::kResult, id, report_json, &a, &bytes).ok() && a.type == MessageType::kResult) break;
    heard = Clock::now();
  }
}

// `podlab ps|worker`: one task over zmq; with --wait-for-job, a server running one submitted job after
// another.
int run_task(ClusterFlags& f, Role role) {
  // SIGINT/SIGTERM from the start of the slow set-up. SIGINT: the chief stops the cluster politely
  // (STOP, checkpoint, exit 130). SIGTERM (a pod going away): the chief checkpoints and exits 143
  // leaving the cluster running for its replacement. Any other task ends promptly with 130.
  catch_stop_signals();
  TaskConfig tc;
  if (!f.cluster_spec.empty()) {
    auto spec = load_cluster_spec(f.cluster_spec);
    if (!spec.ok()) return report(spec.status());
    tc.cluster = *spec;
    if (f.index < 0) {  // an Indexed Job's pod: the index from JOB_COMPLETION_INDEX, checked against the host name
      auto index = job_completion_index(std::getenv);
      if (!index.ok()) return report(index.status());
      tc.task = TaskId{role, *index};
      const char* host = std::getenv("HOSTNAME");
      Status st = check_pod_hostname(tc.cluster, tc.task, host ? host : "");
      if (!st.ok()) return report(st);
    } else {
      tc.task = TaskId{role, f.index};
    }
  } else {
    auto env = tf_config_from_env();
    if (!env.ok()) return report(env.status().With("no --cluster given"));
    tc = *env;
    if (f.index >= 0) tc.task.index = f.index;
    if (tc.task.role != role)
      return report(Status::Config(std::string("TF_CONFIG says this task is a ") + role_name(tc.task.role) + ", not a " + role_name(role)));
  }
  if (!tc.cluster.contains(tc.task)) {  // exit 3, as TF_CONFIG's own index out of range: index and spec disagree
    const int n = tc.task.role == Role::kPs ? tc.cluster.num_ps() : tc.cluster.num_workers();
    return report(Status::Config(tc.task.name() + " is not in the cluster spec " + tc.cluster.to_json() + ": it has " +
                                 std::to_string(n) + " " + role_name(tc.task.role) + " task" + (n == 1 ? "" : "s") +
                                 ", so the index must be in 0.." + std::to_string(n - 1) + " (from --index, else JOB_COMPLETION_INDEX with --cluster, else TF_CONFIG)"));
  }
  f.ps = tc.cluster.num_ps();
  f.workers = tc.cluster.num_workers();
  TransportConfig net;
  net.cluster = tc.cluster;
  net.local = {tc.task};
  net.interrupt = &g_cluster_stop;  // SIGINT/SIGTERM end a wait for an unreachable ps at once
  const std::string keys_dir = curve_keys_dir(f.keys_dir);
  if (!keys_dir.empty()) {  // before the slow set-up: a bad key file fails at once (exit 3)
    auto keys = load_curve_keys(keys_dir, tc.task);
    if (!keys.ok()) return report(keys.status().With(tc.task.name()));
    net.curve = *keys;
  }
  // Pods: probes and Prometheus from the start (loading data can take a while), then wait for DNS.
  TaskMetrics metrics(tc.task);
  std::unique_ptr<TaskHttpServer> http;
  if (f.metrics_port > 0) {
    auto server = TaskHttpServer::start(metrics, "0.0.0.0", f.metrics_port);
    if (!server.ok()) return report(server.status().With(tc.task.name()));
    http = std::move(*server);
  }
  metrics.set_phase("resolving-peers");
  DnsWaitOptions dns;
  dns.timeout_s = f.dns_timeout_s;
  dns.on_waiting = [&](const std::string& names, double s) {
    std::fprintf(stderr, "podlab: %s: waiting for DNS: %s (%.0f s of %.0f s)\n", tc.task.name().c_str(), names.c_str(), s, f.dns_timeout_s);
  };
  Status dns_status = wait_for_dns(peer_hosts(tc.cluster, tc.task), dns);
  if (!dns_status.ok()) return report(dns_status.With(tc.task.name()));
  const std::string timeout_ms = std::to_string(static_cast<long>(f.connect_timeout_s * 1000));
  ::setenv("PODLAB_CONNECT_TIMEOUT_MS", timeout_ms.c_str(), 1);
  std::string report_json;
  if (!f.wait_for_job) {
    // Connects only once its data is loaded: a worker that cannot load it (exit 4) never reaches the
    // ps, whose log would take its half-made connection for a refused handshake.
    std::unique_ptr<Transport> owned;
    const TransportSource connect = [&]() -> Result<Transport*> {
      auto made = make_transport("zmq", net);
      if (!made.ok()) return made.status();
      owned = std::move(*made);
      return owned.get();
    };
    return run_task_job(f, tc.task, connect, metrics, nullptr, &report_json);
  }
  auto transport = make_transport("zmq", net);
  if (!transport.ok()) return report(transport.status().With(tc.task.name()));
  const TaskId ps0{Role::kPs, 0};
  if (role == Role::kPs)
    std::fprintf(stderr, "podlab: %s: waiting for jobs at %s (podlab submit --cluster ... hands them in)\n", tc.task.name().c_str(),
                 tc.cluster.address(tc.task).c_str());
  else
    std::fprintf(stderr, "podlab: %s: asking ps:0 at %s for jobs\n", tc.task.name().c_str(), tc.cluster.address(ps0).c_str());

  if (role == Role::kWorker) {
    const int code = serve_worker_jobs(f, tc.task, transport->get(), metrics);
    (*transport)->shutdown();
    return code;
  }
  JobDesk desk(transport->get(), tc.task);
  desk.set_cluster(tc.cluster.num_ps(), tc.cluster.num_workers());
  metrics.set_phase("waiting-for-job");
  metrics.set_ready(true);
  int last_code = 0;  // of the last job: one the signal interrupted has said so already
  Status st = serve_ps_jobs(
      transport->get(), tc.task, &desk,
      [&](const JobOrder& order) {
        const int64_t id = order.id;
        auto jf = job_flags(f, tc.cluster, order.text, id);
        std::fprintf(stderr, "podlab: %s: running job %lld\n", tc.task.name().c_str(), static_cast<long long>(id));
        std::string ps_report;
        const int code = jf.ok() ? run_task_job(*jf, tc.task, existing(transport->get()), metrics, &desk, &ps_report)
                                 : report(jf.status().With(tc.task.name() + ": job " + std::to_string(id)));
        if (code != 0)  // the job did not run here: ps 0 tells the client why, any ps its workers
          desk.fail_job(id, jf.ok() ? ps_report : task_report_json(tc.task, jf.status(), nullptr, nullptr, nullptr, nullptr));
        last_code = code;
        metrics.set_phase("waiting-for-job");
      },
      &g_cluster_stop, 2000);
  (*transport)->shutdown();
  if (st.code() == StatusCode::kInterrupted && last_code == st.exit_code()) return last_code;
  if (st.ok() && desk.shutdown()) std::fprintf(stderr, "podlab: %s: shut down (podlab submit --shutdown)\n", tc.task.name().c_str());
  return report(st.With(tc.task.name()));
}

void add_task_flags(CLI::App& cmd, ClusterFlags& f) {
  add_fault_flags(cmd, f);
  add_setup_flags(cmd, f.setup);
  cmd.add_option("--cluster", f.cluster_spec, "Cluster spec JSON or file ({\"ps\": [...], \"worker\": [...]}); default: TF_CONFIG");
  cmd.add_option("--index", f.index, "This task's index in its job (default: TF_CONFIG's task)")->check(non_negative());
  cmd.add_option("--placement", f.placement, "round-robin or balanced (every task must agree)")
      ->capture_default_str()
      ->check(CLI::IsMember({"round-robin", "balanced"}));
  cmd.add_option("--mode", f.mode, "async, sync or ssp:K (every task must agree)")->capture_default_str();
  cmd.add_option("--replicas-to-aggregate", f.replicas, "sync: gradients averaged per step (default: all workers)")
      ->check(CLI::Range(1, kMaxTasksPerRole));
  cmd.add_option("--max-steps", f.max_steps, "Stop after this many global steps (0: epochs decide)")->check(non_negative());
  cmd.add_option("--eval-limit", f.eval_limit, "Chief: evaluate on at most this many test samples (0: all)")->check(non_negative());
  cmd.add_option("--retry-ms", f.retry_ms, "Re-send a request unanswered for this long")->capture_default_str()->check(CLI::Range(10, 600000));
  cmd.add_flag("--overlap", f.overlap,
               "async: compute the next gradient while the last push is answered (faster, each gradient one update staler; default: wait for the answer)");
  cmd.add_option("--connect-timeout-s", f.connect_timeout_s,
                 "Worker: give up (exit 6) when a ps is unreachable this long; ps: when no worker has come this long (ps 0 of "
                 "a submitted job: count a worker that has not come this long as failed)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  cmd.add_option("--metrics-port", f.metrics_port, "Serve /metrics, /healthz and /readyz over HTTP on this port (0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--dns-timeout-s", f.dns_timeout_s, "Worker: wait this long for the ps host names to resolve (exit 6 after)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd.add_option("--progress-file", f.progress_file, "Keep this task's live progress as JSON in FILE (used by cluster run)");
  cmd.add_option("--keys", f.keys_dir, "CURVE key directory (podlab keys generate): encrypt and authenticate every link; default $PODLAB_KEYS")->check(non_empty_path());
  cmd.add_option("--report", f.report_file, "Write this task's final counters as JSON to FILE (used by cluster run)");
  cmd.add_flag("--json", f.json, "Print one JSON object per line, even on a terminal");
  cmd.add_flag("--wait-for-job", f.wait_for_job,
               "Stay up and run the jobs `podlab submit` sends, one after another, until `podlab submit --shutdown`");
}

// A --wait-for-job server takes its training flags from each job (podlab submit): any given to the
// server itself would be ignored, so they are refused. The server keeps only these.
Status check_server_flags(const CLI::App& cmd, const ClusterFlags& f) {
  if (!f.wait_for_job) return Status::Ok();
  static const std::set<std::string> kServerFlags = {"--cluster",   "--index",        "--metrics-port",      "--dns-timeout-s",
                                                     "--keys",      "--report",       "--progress-file",     "--json",
                                                     "--wait-for-job", "--help",      "--connect-timeout-s", "--peer-timeout-s"};
  const std::string given = flags_given_outside(cmd, kServerFlags);
  if (given.empty()) return Status::Ok();
  const bool data = (", " + given + ",").find(", --data,") != std::string::npos;
  return Status::Usage("a --wait-for-job server takes its training flags from each job, not from its own command line (" + given +
                       "): give them to podlab submit instead (podlab submit --cluster SPEC " + given.substr(0, given.find(',')) +
                       " ...)" + (data ? "; for this server's own data directory set PODLAB_DATA=DIR" : ""));
}

}  // namespace

Status check_pod_training_flags(const std::vector<std::pair<std::string, std::string>>& training, const std::string& mode,
                                int workers) {
  std::vector<std::string> args = {"--mode", mode};
  for (const auto& [flag, value] : training) {
    args.push_back("--" + flag);
    args.push_back(value);
  }
  ClusterFlags f;
  PODLAB_RETURN_IF_ERROR(parse_task_flags(args, "the pods' training flags", &f));
  if (!f.setup.model.empty()) PODLAB_RETURN_IF_ERROR(ModelSpec::parse(f.setup.model).status());
  if (!f.setup.lr_schedule.empty()) PODLAB_RETURN_IF_ERROR(LrSchedule::parse(f.setup.lr_schedule).status());
  auto m = SyncMode::parse(f.mode);
  if (!m.ok()) return Status::Usage(m.status().message());
  if (f.replicas > workers)
    return Status::Usage("--replicas-to-aggregate " + std::to_string(f.replicas) + " is more than the " + std::to_string(workers) +
                         " workers: a sync step would never complete");
  return Status::Ok();
}

void add_cluster_commands(CLI::App& root, int& exit_code) {
  CLI::App* cluster = root.add_subcommand("cluster", "Parameter-server training: ps tasks and workers as threads or processes on this machine (cluster run)");
  cluster->require_subcommand(1);
  auto f = std::make_shared<ClusterFlags>();
  CLI::App* run = cluster->add_subcommand("run", "Run a whole cluster on this machine (as threads, or as child processes) and train a model");
  add_setup_flags(*run, f->setup);
  CLI::Option* ps_count = run->add_option("--ps", f->ps, "Parameter-server tasks")->capture_default_str()->check(CLI::Range(1, kMaxTasksPerRole));
  CLI::Option* worker_count = run->add_option("--workers", f->workers, "Worker tasks (worker 0 is the chief)")
                             ->capture_default_str()
                             ->check(CLI::Range(1, kMaxTasksPerRole));
  run->add_option("--cluster", f->cluster_spec, "Cluster spec JSON or file ({\"ps\": [...], \"worker\": [...]}); sets --ps/--workers (its addresses are not used: local tasks take free ports on 127.0.0.1)")
      ->excludes(ps_count)
      ->excludes(worker_count);  // the spec's task counts win: giving both would silently ignore one
  run->add_option("--transport", f->transport, "threads (one process) or processes (a podlab ps|worker process per task, zmq on 127.0.0.1)")
      ->capture_default_str()
      ->check(CLI::IsMember({"threads", "processes"}));
  run->add_option("--placement", f->placement, "round-robin (whole variables, like TF) or balanced (equal byte ranges)")
      ->capture_default_str()
      ->check(CLI::IsMember({"round-robin", "balanced"}));
  run->add_option("--mode", f->mode, "async, sync (SyncReplicas) or ssp:K (bounded staleness)")->capture_default_str();
  run->add_option("--replicas-to-aggregate", f->replicas, "sync: gradients averaged per step (default: all workers)")
      ->check(CLI::Range(1, kMaxTasksPerRole));
  run->add_option("--max-steps", f->max_steps, "Stop after this many global steps (0: epochs decide)")->check(non_negative());
  run->add_option("--eval-limit", f->eval_limit, "Evaluate on at most this many test samples (0: all)")->check(non_negative());
  run->add_option("--retry-ms", f->retry_ms, "Re-send a request unanswered for this long")->capture_default_str()->check(CLI::Range(10, 600000));
  run->add_flag("--overlap", f->overlap,
               "async: compute the next gradient while the last push is answered (faster, each gradient one update staler; default: wait for the answer)");
  run->add_flag("--json", f->json, "Print one JSON object per line, even on a terminal");
  add_fault_flags(*run, *f);
  run->add_option("--restart-failed", f->restart_failed,
                  "processes: restart a task that dies, up to N times in all (give --checkpoint-dir so a ps can recover)")
      ->check(CLI::Range(0, 1000));
  run->add_option("--keys", f->keys_dir, "processes: CURVE key directory (podlab keys generate) for every task; default $PODLAB_KEYS")->check(non_empty_path());
  run->add_option("--sim-latency-ms", f->latency_ms, "Simulated one-way latency per message")->check(non_negative());
  run->add_option("--sim-jitter-ms", f->jitter_ms, "Simulated latency jitter (+-)")->check(non_negative());
  run->add_option("--sim-bandwidth-mbps", f->bandwidth_mbps, "Simulated bandwidth per link, Mbit/s (0: unlimited)")->check(non_negative());
  run->add_option("--sim-loss", f->loss, "Simulated probability of losing a message")->check(CLI::Range(0.0, 0.99));
  run->add_option("--sim-slowdown", f->slowdown, "Per-worker compute slow-down factors, e.g. 1,1,4");
  run->add_option("--sim-kill-worker", f->silence, "I:N: worker I goes silent after sending N messages (repeatable)");
  run->add_option("--sim-seed", f->sim_seed, "Seed for simulated loss and jitter")->capture_default_str();
  run->callback([f, &exit_code] { exit_code = run_cluster(*f); });

  auto pf = std::make_shared<ClusterFlags>();
  CLI::App* ps = root.add_subcommand("ps", "Run one parameter-server task of a cluster (zmq; --cluster/--index or TF_CONFIG)");
  add_task_flags(*ps, *pf);
  ps->callback([pf, ps, &exit_code] {
    const Status st = check_server_flags(*ps, *pf);
    exit_code = st.ok() ? run_task(*pf, Role::kPs) : report(st);
  });
  add_submit_commands(root, exit_code);

  auto wf = std::make_shared<ClusterFlags>();
  CLI::App* worker = root.add_subcommand("worker", "Run one worker task of a cluster (worker 0 is the chief; zmq)");
  add_task_flags(*worker, *wf);
  worker->callback([wf, worker, &exit_code] {
    const Status st = check_server_flags(*worker, *wf);
    exit_code = st.ok() ? run_task(*wf, Role::kWorker) : report(st);
  });
}

}  // namespace podlab
