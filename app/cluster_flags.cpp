// The flags and signal handling `podlab cluster run`, `podlab ps|worker` and `podlab submit` share
// (cluster_flags.h).
#include "app/cluster_flags.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "app/command.h"

namespace podlab {

// SIGINT/SIGTERM: the first asks the task (or the launcher) to stop at its next chance, which the chief
// does with a checkpoint and STOP; another one at least a second later ends the process at once with
// the interrupted code. (Signals in a burst count once: `timeout` sends SIGTERM to its child and then
// to its whole process group, so the child gets two.) A `podlab worker` chief takes SIGTERM as its
// pod going away instead (ClusterPrinter::leave_on_sigterm): checkpoint, leave the cluster running.
volatile std::sig_atomic_t g_cluster_stop = 0;
volatile std::sig_atomic_t g_first_signal = 0;    // the first signal's number

namespace {

// Tenths of a second on CLOCK_MONOTONIC since catch_stop_signals() (an int for 6 years): the first
// signal's time, in a type a handler may write on any platform.
timespec g_handlers_installed{};
volatile std::sig_atomic_t g_first_signal_ds = 0;

std::sig_atomic_t deciseconds_since_install() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const long long ds = (static_cast<long long>(now.tv_sec) - g_handlers_installed.tv_sec) * 10 +
                       (now.tv_nsec - g_handlers_installed.tv_nsec) / 100000000;
  return static_cast<std::sig_atomic_t>(ds);
}

void on_cluster_signal(int sig) {
  const std::sig_atomic_t now_ds = deciseconds_since_install();
  if (g_cluster_stop && now_ds - g_first_signal_ds >= 10) _exit(static_cast<int>(StatusCode::kInterrupted));
  if (!g_cluster_stop) {
    g_first_signal_ds = now_ds;
    g_first_signal = sig;
  }
  g_cluster_stop = 1;
}

}  // namespace

void catch_stop_signals() {
  clock_gettime(CLOCK_MONOTONIC, &g_handlers_installed);
  g_cluster_stop = 0;
  g_first_signal = 0;
  std::signal(SIGINT, on_cluster_signal);
  std::signal(SIGTERM, on_cluster_signal);
}

// The training flags a task process needs to build the same plan as its launcher (as given, before
// make_setup filled in defaults, so every task fills them in the same way).
std::vector<std::string> task_args(const ClusterFlags& f, bool json) {
  const SetupFlags& s = f.setup;
  std::vector<std::string> a;
  auto add = [&](const char* flag, const std::string& v) {
    a.push_back(flag);
    a.push_back(v);
  };
  auto num = [](double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.9g", v);
    return std::string(b);
  };
  add("--model", s.model);
  if (!s.dataset.empty()) add("--dataset", s.dataset);
  if (!s.data_dir.empty()) add("--data", s.data_dir);
  if (!s.optimizer.empty()) add("--optimizer", s.optimizer);
  if (!s.lr_schedule.empty()) add("--lr-schedule", s.lr_schedule);
  if (s.lr > 0) add("--lr", num(s.lr));
  add("--momentum", num(s.momentum));
  if (s.batch > 0) add("--batch", std::to_string(s.batch));
  if (s.epochs > 0) add("--epochs", std::to_string(s.epochs));
  add("--threads", std::to_string(s.threads));
  add("--seed", std::to_string(s.seed));
  if (s.limit_train > 0) add("--limit-train", std::to_string(s.limit_train));
  if (s.limit_test > 0) add("--limit-test", std::to_string(s.limit_test));
  add("--mode", f.mode);
  if (f.replicas > 0) add("--replicas-to-aggregate", std::to_string(f.replicas));
  if (f.max_steps > 0) add("--max-steps", std::to_string(f.max_steps));
  if (f.eval_limit > 0) add("--eval-limit", std::to_string(f.eval_limit));
  add("--retry-ms", std::to_string(f.retry_ms));
  if (f.overlap) a.push_back("--overlap");
  add("--placement", f.placement);
  add("--connect-timeout-s", num(f.connect_timeout_s));
  add("--heartbeat-ms", std::to_string(f.heartbeat_ms));
  add("--heartbeat-timeout-s", num(f.heartbeat_timeout_s));
  add("--peer-timeout-s", num(f.peer_timeout_s));
  if (!f.checkpoint_dir.empty()) add("--checkpoint-dir", f.checkpoint_dir);
  if (f.checkpoint_every_steps > 0) add("--ps-checkpoint-every-steps", std::to_string(f.checkpoint_every_steps));
  if (f.checkpoint_secs > 0) add("--ps-checkpoint-secs", num(f.checkpoint_secs));
  if (!f.keys_dir.empty()) add("--keys", f.keys_dir);
  if (json) a.push_back("--json");
  return a;
}

std::string flags_given_outside(const CLI::App& cmd, const std::set<std::string>& allowed) {
  std::string given;
  for (const CLI::Option* o : cmd.get_options())
    if (o->count() > 0 && !allowed.count(o->get_name())) given += (given.empty() ? "" : ", ") + o->get_name();
  return given;
}

std::string tasks_text(int ps, int workers) {
  return std::to_string(ps) + (ps == 1 ? " ps task" : " ps tasks") + " and " + std::to_string(workers) + (workers == 1 ? " worker" : " workers");
}

// Heartbeats, timeouts and ps checkpoints: the same for `cluster run` and single tasks.
void add_fault_flags(CLI::App& cmd, ClusterFlags& f) {
  cmd.add_option("--heartbeat-ms", f.heartbeat_ms, "A worker waiting on a ps sends it a heartbeat this often")
      ->capture_default_str()
      ->check(CLI::Range(10, 60000));
  cmd.add_option("--heartbeat-timeout-s", f.heartbeat_timeout_s, "Report a task dead after this long without a message")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  cmd.add_option("--peer-timeout-s", f.peer_timeout_s,
                 "Give up (exit 6) when a ps answers a request with nothing, or a ps hears from no worker, for this long; in a "
                 "submitted job, ps 0 also counts a worker it has not heard from for this long as failed (make it longer "
                 "than the chief's evaluation)")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  cmd.add_option("--checkpoint-dir", f.checkpoint_dir,
                 "The chief checkpoints the ps state here; a (re)starting ps restores the newest checkpoint");
  cmd.add_option("--ps-checkpoint-every-steps", f.checkpoint_every_steps, "Checkpoint every N global steps (0: off)")
      ->check(non_negative());
  cmd.add_option("--ps-checkpoint-secs", f.checkpoint_secs,
                 "Checkpoint every S seconds (0: off; default 60 when --checkpoint-dir is given without a cadence)")
      ->check(non_negative());
}

}  // namespace podlab
