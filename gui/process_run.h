// A child process for the Cluster tab's "as processes" mode: `podlab cluster run --transport
// processes --json`, whose ps and worker tasks are real processes linked by ZeroMQ on 127.0.0.1.
// A reader thread collects the child's stdout lines; the UI thread polls view(). The child is ended
// (SIGTERM, then SIGKILL after 2 s) and reaped when stopped or destroyed, so none is left behind.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/status.h"

namespace podlab::gui {

class ProcessRun {
 public:
  ProcessRun() = default;
  ~ProcessRun();
  ProcessRun(const ProcessRun&) = delete;
  ProcessRun& operator=(const ProcessRun&) = delete;

  // Starts argv[0] (a path) with argv; stdout is captured, stderr goes to ours (or into the same
  // lines when `capture_stderr`). Error when running.
  Status start(const std::vector<std::string>& argv, bool capture_stderr = false);
  void stop();  // SIGTERM to the child (which forwards it to its tasks); returns at once
  // Sends `sig` to `pid` when it is a child of the running child (a ps or worker task of the run);
  // Status::Usage when it is not, so no other process can be hit.
  Status signal_task(pid_t pid, int sig);
  bool running() const { return running_.load(); }

  struct Task {
    pid_t pid = 0;
    std::string command;  // its command line, arguments separated by spaces
  };
  struct View {
    pid_t pid = 0;
    std::vector<std::string> lines;  // stdout lines from `from_line` on
    size_t total_lines = 0;          // lines printed so far
    std::vector<Task> children;      // the child's own children now (/proc), e.g. podlab ps / worker
    int exit_code = -1;              // once ended: its exit status, or 128 + signal
    bool running = false;
  };
  View view(size_t from_line = 0) const;

 private:
  void end_and_reap();
  std::atomic<bool> running_{false};
  pid_t pid_ = 0;
  int out_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;  // guarded by mu_
  int exit_code_ = -1;              // guarded by mu_
};

// The path of kubectl as `podlab k8s apply` finds it: $KUBECTL, else the first on PATH; "" when none.
std::string find_kubectl_path();

// The command line of process `pid` from /proc ("" when gone), and its children's pids.
std::string process_command(pid_t pid);
std::vector<pid_t> process_children(pid_t pid);

}  // namespace podlab::gui
