// fork/exec of kubectl with pipes (see kubectl.h).
#include "app/kubectl.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace podlab {
namespace {

bool executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string find_kubectl() {
  if (const char* k = std::getenv("KUBECTL"); k && *k) return executable(k) ? k : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t colon = dirs.find(':', start);
    const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && executable(dir + "/kubectl")) return dir + "/kubectl";
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

}  // namespace

Result<KubectlRun> run_kubectl(const std::vector<std::string>& args, const std::string& input, bool capture) {
  const std::string kubectl = find_kubectl();
  if (kubectl.empty())
    return Status::Config("kubectl was not found ($KUBECTL or PATH): install it and point it at your cluster (KUBECONFIG), "
                          "or apply the output of `podlab k8s render -o DIR` with the tool you use");
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
  if (::pipe(in_pipe) != 0 || (capture && ::pipe(out_pipe) != 0)) return Status::Internal("pipe failed");
  std::vector<std::string> argv_s = {kubectl};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    if (capture) ::dup2(out_pipe[1], 1);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    if (capture) {
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
    }
    ::execv(kubectl.c_str(), argv.data());
    _exit(127);
  }
  ::close(in_pipe[0]);
  if (capture) ::close(out_pipe[1]);
  // Feed stdin from a thread so a kubectl that writes before reading everything cannot deadlock us.
  std::thread writer([fd = in_pipe[1], &input] {
    std::signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < input.size()) {
      const ssize_t n = ::write(fd, input.data() + off, input.size() - off);
      if (n <= 0 && errno != EINTR) break;
      if (n > 0) off += static_cast<size_t>(n);
    }
    ::close(fd);
  });
  KubectlRun r;
  if (capture) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n > 0) r.out.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR) break;
    }
    ::close(out_pipe[0]);
  }
  writer.join();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (r.exit_code == 127) return Status::Config("cannot run " + kubectl);
  return r;
}

}  // namespace podlab
