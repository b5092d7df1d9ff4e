// fork + exec with pipes and poll(). The environment and argv are built before fork, so the child
// only calls setpgid, chdir, dup2, sigprocmask/signal resets and execve.
#include "lessons/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

extern char** environ;

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void append_capped(std::string& dst, const char* data, size_t n, size_t cap) {
  dst.append(data, n);
  if (dst.size() > cap) dst.erase(0, dst.size() - cap);
}

std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const std::string& x : extra) replaced |= x.substr(0, x.find('=')) == key;
    if (!replaced) env.push_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

ChildResult run_child(const std::string& program, const std::vector<std::string>& args, const ChildOptions& opt) {
  ChildResult r;
  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = child_environment(opt.extra_env);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return r;
  }
  const auto t0 = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (!opt.work_dir.empty() && chdir(opt.work_dir.c_str()) != 0) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so the group exists before we might signal it
  close(out_pipe[1]);
  close(err_pipe[1]);
  r.started = true;

  std::string partial;  // stdout since the last newline, for on_stdout_line
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool term_sent = false;
  Clock::time_point term_at;
  char buf[65536];
  while (open_fds > 0) {
    const bool cancel = opt.cancel && opt.cancel->load();
    if (!term_sent && (cancel || since(t0) > opt.timeout_s)) {
      r.timed_out = !cancel;
      r.cancelled = cancel;
      kill(-pid, SIGTERM);
      term_sent = true;
      term_at = Clock::now();
    }
    if (term_sent && since(term_at) > opt.grace_s) {
      kill(-pid, SIGKILL);
      break;  // grandchildren may hold the pipes open; stop reading
    }
    const int n = poll(fds, 2, 100);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      if (i == 0) {
        append_capped(r.out, buf, static_cast<size_t>(got), opt.max_capture_bytes);
        if (opt.on_stdout_line) {
          partial.append(buf, static_cast<size_t>(got));
          size_t nl;
          while ((nl = partial.find('\n')) != std::string::npos) {
            opt.on_stdout_line(partial.substr(0, nl));
            partial.erase(0, nl + 1);
          }
        }
      } else {
        append_capped(r.err, buf, static_cast<size_t>(got), opt.max_capture_bytes);
      }
    }
  }
  for (pollfd& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (opt.on_stdout_line && !partial.empty()) opt.on_stdout_line(partial);

  // The pipes are closed; wait for the exit, still honouring the time limit.
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    const bool cancel = opt.cancel && opt.cancel->load();
    if (!term_sent && (cancel || since(t0) > opt.timeout_s)) {
      r.timed_out = !cancel;
      r.cancelled = cancel;
      kill(-pid, SIGTERM);
      term_sent = true;
      term_at = Clock::now();
    } else if (term_sent && since(term_at) > opt.grace_s) {
      kill(-pid, SIGKILL);
    }
    usleep(20000);
  }
  kill(-pid, SIGKILL);  // anything the child left behind in its group
  r.seconds = since(t0);
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  if (r.exit_code == 127 && r.out.empty() && r.err.empty())
    r.error = "could not start " + program + (opt.work_dir.empty() ? "" : " in " + opt.work_dir);
  return r;
}

}  // namespace podlab
