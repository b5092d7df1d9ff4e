// Runs one program as a child process with a time limit, capturing its stdout and stderr. The child
// gets its own process group, so a timeout or a cancel stops it and everything it started (e.g. the
// ps and worker processes of `podlab cluster run --transport processes`): SIGTERM to the group, then
// SIGKILL after a grace period. Safe to call from a multi-threaded program (nothing but
// async-signal-safe calls between fork and exec).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace podlab {

struct ChildOptions {
  std::string work_dir;                                    // the child's working directory ("" = ours)
  std::vector<std::string> extra_env;                      // "KEY=VALUE" added to (or replacing in) our environment
  double timeout_s = 300;                                  // wall-clock limit
  double grace_s = 3;                                      // between SIGTERM and SIGKILL
  size_t max_capture_bytes = 4 << 20;                      // per stream; older output is dropped beyond this
  std::function<void(const std::string&)> on_stdout_line;  // called with each complete stdout line
  const std::atomic<bool>* cancel = nullptr;               // when it turns true, the child is stopped
};

struct ChildResult {
  bool started = false;  // false: fork/exec failed, see `error`
  std::string error;
  int exit_code = -1;  // the exit status, or 128 + signal number when killed by a signal
  bool timed_out = false;
  bool cancelled = false;
  double seconds = 0;    // wall-clock time from start to exit
  std::string out, err;  // captured output (the tail, when longer than max_capture_bytes)
};

// Runs `program` with argv[0] = program and `args` after it; waits until it exits or is stopped.
ChildResult run_child(const std::string& program, const std::vector<std::string>& args, const ChildOptions& options);

}  // namespace podlab
