// What the Cluster tab shows of a `podlab cluster run --transport processes --json` run, built from
// the JSON lines it prints: the newest "progress" event (per task: step, pushes, loss, state and how
// long since its peers last heard from it), test accuracy per epoch, and a log of what happened
// (start, epochs, the launcher's notes on deaths and restarts, tasks reported dead,
// the result). Lines are fed once each, in order (add_line), so a long run costs nothing per frame.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace podlab::gui {

struct ProcessTask {
  std::string name;  // "ps:0", "worker:1"
  int64_t step = 0, pushes = 0, applied = 0, dropped = 0;
  double loss = 0;
  bool done = false;
  std::string state;      // what it waits for, or the launcher's note ("was killed by signal 9 at ...")
  double silent_s = -1;   // the shortest time since any peer heard from it (-1: no peer reports it)
  bool dead = false;      // a peer has not heard from it for longer than the heartbeat timeout
};

struct ProcessProgress {
  bool started = false;
  double elapsed_s = 0, samples_per_s = 0;
  int64_t step = 0, total_steps = 0;
  int64_t last_checkpoint_step = -1;  // the newest ps checkpoint (-1: none yet)
  std::vector<ProcessTask> tasks;
  std::vector<double> test_accuracy;  // per completed epoch
  std::vector<std::string> log;       // "12.3 s  worker:1 was killed by signal 9 ..., restarted (1 of 2)"; last 200
  size_t lines_seen = 0;              // lines fed so far

  void add_line(const std::string& line);
};

// The task name a `podlab ps|worker ... --index N` command line runs as ("ps:0"), or "".
std::string task_of_command(const std::string& command);

}  // namespace podlab::gui
