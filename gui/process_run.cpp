// Spawning, reading and reaping the child.
#include "gui/process_run.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace podlab::gui {

ProcessRun::~ProcessRun() { end_and_reap(); }

Status ProcessRun::start(const std::vector<std::string>& argv, bool capture_stderr) {
  if (running_.load()) return Status::Usage("a process run is still going: stop it first");
  end_and_reap();  // the previous run's reader thread
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Io(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  if (capture_stderr) posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  // Its own process group, so the child's tasks can be ended together (end_and_reap).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return Status::Io("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  pid_ = pid;
  out_fd_ = fds[0];
  {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
    exit_code_ = -1;
  }
  running_ = true;
  reader_ = std::thread([this] {
    // Reads until the child has exited and the pipe is drained. Its exit is polled rather than
    // taken from EOF: a task it left behind may still hold the pipe open.
    std::string partial;
    char buf[4096];
    int status = 0;
    bool exited = false;
    for (;;) {
      pollfd pfd{out_fd_, POLLIN, 0};
      const int ready = poll(&pfd, 1, 100);
      ssize_t n = 0;
      if (ready > 0) {
        n = read(out_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) partial.append(buf, static_cast<size_t>(n));
      }
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      if (!exited) exited = waitpid(pid_, &status, WNOHANG) == pid_;
      if (exited && (ready <= 0 || n <= 0)) break;  // gone, and nothing more to read now
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!partial.empty()) lines_.push_back(partial);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    running_ = false;
  });
  return Status::Ok();
}

void ProcessRun::stop() {
  if (running_.load() && pid_ > 0) kill(pid_, SIGTERM);
}

Status ProcessRun::signal_task(pid_t pid, int sig) {
  if (!running_.load() || pid <= 0) return Status::Usage("no process run is going");
  for (pid_t c : process_children(pid_))
    if (c == pid) {
      if (kill(pid, sig) != 0) return Status::Io("kill " + std::to_string(pid) + ": " + std::strerror(errno));
      return Status::Ok();
    }
  return Status::Usage("pid " + std::to_string(pid) + " is not a task of this run (it may have ended)");
}

void ProcessRun::end_and_reap() {
  if (!reader_.joinable()) return;
  if (running_.load()) {
    kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (running_.load() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (running_.load()) kill(pid_, SIGKILL);
  }
  reader_.join();  // returns once the child is reaped
  kill(-pid_, SIGKILL);  // anything it left behind in its process group
  close(out_fd_);
  out_fd_ = -1;
}

ProcessRun::View ProcessRun::view(size_t from_line) const {
  View v;
  v.pid = pid_;
  v.running = running_.load();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (from_line < lines_.size()) v.lines.assign(lines_.begin() + static_cast<std::ptrdiff_t>(from_line), lines_.end());
    v.total_lines = lines_.size();
    v.exit_code = exit_code_;
  }
  if (v.running)
    for (pid_t c : process_children(pid_)) v.children.push_back(Task{c, process_command(c)});
  return v;
}

std::string find_kubectl_path() {
  auto runnable = [](const std::string& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; };
  if (const char* k = std::getenv("KUBECTL"); k && *k) return runnable(k) ? k : "";
  std::istringstream dirs(std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && runnable(dir + "/kubectl")) return dir + "/kubectl";
  return "";
}

std::string process_command(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : s)
    if (c == '\0') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::vector<pid_t> process_children(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

}  // namespace podlab::gui
