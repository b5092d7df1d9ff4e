// How a task process learns who it is when Kubernetes starts it, and when its peers are reachable.
//   - Indexed Jobs (`podlab k8s render --format jobs`): the role is in the command (`podlab ps|worker`),
//     the cluster spec in a mounted file (--cluster), and the index in JOB_COMPLETION_INDEX; the pod's
//     host name <job>-<index> must be the first label of the spec's address for that task.
//   - TFJob: TF_CONFIG carries everything (cluster_spec.h).
//   - Pods start before DNS knows their peers: wait_for_peer_dns retries with backoff.
#pragma once

#include <functional>
#include <string>

#include "cluster/cluster_spec.h"

namespace podlab {

// Reads JOB_COMPLETION_INDEX (as `getenv` returns it): a non-negative decimal. kUsage error when
// unset (outside a pod: pass --index), kConfig when malformed.
Result<int> job_completion_index(const std::function<const char*(const char*)>& getenv);

// When `hostname` is set (Kubernetes sets HOSTNAME to the pod's host name) and the task's address is
// a DNS name, its first label must equal `hostname`: otherwise the pod got a cluster spec or index
// meant for another task. kConfig error naming both.
Status check_pod_hostname(const ClusterSpec& spec, const TaskId& self, const std::string& hostname);

struct DnsWaitOptions {
  double timeout_s = 60;
  double first_backoff_s = 0.1, max_backoff_s = 2.0;  // doubling between rounds
  // Called at most every ~10 s while names are still missing: (names missing, seconds waited).
  std::function<void(const std::string&, double)> on_waiting;
  // Resolves one host: true when it resolves, else false with the resolver's answer in *error.
  // Default: getaddrinfo. Tests pass a fake (and so never send a DNS query).
  std::function<bool(const std::string& host, std::string* error)> resolve;
};

// The hosts `self` connects to: every ps for a worker; none for a ps (it only listens).
std::vector<std::string> peer_hosts(const ClusterSpec& spec, const TaskId& self);

// Resolves every host in `hosts` (getaddrinfo; IP literals pass at once), retrying with backoff
// until all resolve or `timeout_s` passes: then a kNetwork error listing the names that did not
// resolve and the resolver's last answer.
Status wait_for_dns(const std::vector<std::string>& hosts, const DnsWaitOptions& options);

}  // namespace podlab
