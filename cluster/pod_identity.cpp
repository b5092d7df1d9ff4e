// Task identity from the pod's environment, and waiting for peers' DNS names (see pod_identity.h).
#include "cluster/pod_identity.h"

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

namespace podlab {
namespace {

// getaddrinfo's answer for `host`: true when it resolves, else false with the error text.
bool getaddrinfo_resolves(const std::string& host, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (res) ::freeaddrinfo(res);
  if (rc != 0) *error = ::gai_strerror(rc);
  return rc == 0;
}

bool is_ip_literal(const std::string& host) {
  return host.find(':') != std::string::npos || host.find_first_not_of("0123456789.") == std::string::npos;
}

}  // namespace

Result<int> job_completion_index(const std::function<const char*(const char*)>& getenv) {
  const char* v = getenv("JOB_COMPLETION_INDEX");
  const std::string hint = " (an Indexed Job sets it; outside Kubernetes pass --index)";
  if (!v || !*v) return Status::Usage("--cluster needs --index (or JOB_COMPLETION_INDEX, which an Indexed Job sets)");
  const std::string s = v;
  if (s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
    return Status::Config("JOB_COMPLETION_INDEX \"" + s + "\" is not a task index" + hint);
  return std::stoi(s);
}

Status check_pod_hostname(const ClusterSpec& spec, const TaskId& self, const std::string& hostname) {
  if (hostname.empty() || !spec.contains(self)) return Status::Ok();
  auto hp = parse_host_port(spec.address(self));
  if (!hp.ok() || is_ip_literal(hp->host) || hp->host == "localhost") return Status::Ok();
  const std::string first = hp->host.substr(0, hp->host.find('.'));
  if (first == hostname) return Status::Ok();
  return Status::Config("this pod is " + hostname + " but the cluster spec puts " + self.name() + " at " +
                        spec.address(self) + ": the pod got another task's index or another run's cluster spec "
                        "(re-render the manifests, or check JOB_COMPLETION_INDEX/--index)");
}

std::vector<std::string> peer_hosts(const ClusterSpec& spec, const TaskId& self) {
  std::vector<std::string> hosts;
  if (self.role != Role::kWorker) return hosts;
  for (int i = 0; i < spec.num_ps(); ++i) {
    auto hp = parse_host_port(spec.ps[static_cast<size_t>(i)]);
    if (hp.ok()) hosts.push_back(hp->host);
  }
  return hosts;
}

Status wait_for_dns(const std::vector<std::string>& hosts, const DnsWaitOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto waited = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  double backoff = o.first_backoff_s;
  double last_report = 0;
  std::vector<std::string> missing = hosts;
  std::string last_error;
  const auto resolve = o.resolve ? o.resolve : getaddrinfo_resolves;
  while (true) {
    std::vector<std::string> still;
    for (const std::string& h : missing) {
      std::string error;
      if (!resolve(h, &error)) {
        still.push_back(h);
        last_error = error;
      }
    }
    missing.swap(still);
    if (missing.empty()) return Status::Ok();
    std::string names;
    for (const std::string& h : missing) names += (names.empty() ? "" : ", ") + h;
    const double w = waited();
    if (w >= o.timeout_s)
      return Status::Network("peer name(s) " + names + " did not resolve within " + std::to_string(static_cast<int>(o.timeout_s)) +
                             " s (last answer: " + last_error + "); check that the headless Service exists, its selector "
                             "matches the pods and the pods run (kubectl get svc,pods), or raise --dns-timeout-s");
    if (o.on_waiting && w - last_report >= 10) {
      last_report = w;
      o.on_waiting(names, w);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(backoff, std::max(0.0, o.timeout_s - w))));
    backoff = std::min(backoff * 2, o.max_backoff_s);
  }
}

}  // namespace podlab
