// A pod's identity (JOB_COMPLETION_INDEX, host name) and the wait for peers' DNS names, with a fake
// resolver (no DNS query leaves the test).
#include <catch2/catch.hpp>

#include <chrono>
#include <map>

#include "cluster/pod_identity.h"

using namespace podlab;

namespace {

auto env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

ClusterSpec k8s_spec() {
  ClusterSpec s;
  s.ps = {"mnist-ps-0.mnist.default.svc.cluster.local:2222", "mnist-ps-1.mnist.default.svc.cluster.local:2222"};
  s.worker = {"mnist-worker-0.mnist.default.svc.cluster.local:2222", "10.0.0.9:2222"};
  return s;
}

}  // namespace

TEST_CASE("JOB_COMPLETION_INDEX gives the task index, with clear errors", "[k8s][pod]") {
  CHECK(*job_completion_index(env_of({{"JOB_COMPLETION_INDEX", "3"}})) == 3);
  for (const char* bad : {"-1", "x", "1.5", "12345678"}) {
    INFO(bad);
    auto r = job_completion_index(env_of({{"JOB_COMPLETION_INDEX", bad}}));
    REQUIRE(!r.ok());
    CHECK(r.status().code() == StatusCode::kConfig);
  }
  auto unset = job_completion_index(env_of({}));
  REQUIRE(!unset.ok());
  CHECK(unset.status().code() == StatusCode::kUsage);
  CHECK(unset.status().message().find("--index") != std::string::npos);
}

TEST_CASE("a pod's host name must match its task's address", "[k8s][pod]") {
  const ClusterSpec s = k8s_spec();
  CHECK(check_pod_hostname(s, {Role::kPs, 1}, "mnist-ps-1").ok());
  CHECK(check_pod_hostname(s, {Role::kPs, 1}, "").ok());                // not in a pod: nothing to check
  CHECK(check_pod_hostname(s, {Role::kWorker, 1}, "anything").ok());    // an IP address: nothing to check
  const Status wrong = check_pod_hostname(s, {Role::kPs, 1}, "mnist-ps-0");
  REQUIRE(!wrong.ok());
  CHECK(wrong.code() == StatusCode::kConfig);
  CHECK(wrong.message().find("this pod is mnist-ps-0") != std::string::npos);
}

TEST_CASE("workers wait for every ps name; a ps waits for nobody", "[k8s][pod]") {
  const ClusterSpec s = k8s_spec();
  CHECK(peer_hosts(s, {Role::kPs, 0}).empty());
  CHECK(peer_hosts(s, {Role::kWorker, 1}) ==
        std::vector<std::string>{"mnist-ps-0.mnist.default.svc.cluster.local", "mnist-ps-1.mnist.default.svc.cluster.local"});
}

TEST_CASE("wait_for_dns retries with backoff until late names appear, and times out clearly", "[k8s][pod]") {
  std::map<std::string, int> calls;
  DnsWaitOptions o;
  o.timeout_s = 5;
  o.first_backoff_s = 0.01;
  o.max_backoff_s = 0.04;
  o.resolve = [&](const std::string& host, std::string* error) {
    const int n = ++calls[host];
    if (host == "late" && n < 4) {
      *error = "Name or service not known";
      return false;
    }
    return true;
  };
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(wait_for_dns({"early", "late"}, o).ok());
  CHECK(calls["early"] == 1);  // resolved names are not asked again
  CHECK(calls["late"] == 4);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));

  o.timeout_s = 0.2;
  o.resolve = [](const std::string&, std::string* error) {
    *error = "Name or service not known";
    return false;
  };
  const auto t1 = std::chrono::steady_clock::now();
  const Status st = wait_for_dns({"mnist-ps-0.mnist.default.svc.cluster.local"}, o);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  REQUIRE(!st.ok());
  CHECK(st.code() == StatusCode::kNetwork);
  CHECK(st.message().find("mnist-ps-0.mnist.default.svc.cluster.local did not resolve within") != std::string::npos);
  CHECK(st.message().find("Name or service not known") != std::string::npos);
  CHECK(took >= 0.2);
  CHECK(took < 1.5);
  CHECK(wait_for_dns({"127.0.0.1", "::1"}, DnsWaitOptions{}).ok());  // literals: getaddrinfo answers locally
}
