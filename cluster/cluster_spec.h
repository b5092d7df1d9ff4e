// The cluster spec: which tasks exist and where they listen, in TensorFlow's ClusterSpec shape
//   {"ps": ["host:port", ...], "worker": ["host:port", ...]}
// read from --cluster (inline JSON or a file) or from TF_CONFIG
//   {"cluster": {...}, "task": {"type": "worker", "index": 0}}
// A "chief" job of one address is accepted for TF compatibility and becomes worker 0 (podlab's chief
// is always worker 0). Parsing never trusts its input: every error says which field was wrong and why.
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

// The two roles a task can have. Worker 0 is the chief.
// kClient: `podlab submit`, talking to wait-for-job servers; never part of a cluster spec.
enum class Role : uint8_t { kPs = 0, kWorker = 1, kClient = 2 };
const char* role_name(Role role);  // "ps" | "worker" | "client"

// One task: role and index within its job. name() is "ps:0" / "worker:3".
struct TaskId {
  Role role = Role::kWorker;
  int index = 0;
  std::string name() const;
  bool operator==(const TaskId& o) const { return role == o.role && index == o.index; }
  bool operator!=(const TaskId& o) const { return !(*this == o); }
  bool operator<(const TaskId& o) const { return role != o.role ? role < o.role : index < o.index; }
};

struct HostPort {
  std::string host;  // DNS name, IPv4 literal, or IPv6 literal without brackets
  int port = 0;      // 1..65535
};
// "host:port" or "[v6addr]:port"; the port is decimal, 1-65535, without leading zeros. kConfig error
// saying which part is wrong.
Result<HostPort> parse_host_port(const std::string& text);
// 127.0.0.0/8, localhost or ::1.
bool is_loopback_host(const std::string& host);
// `n` distinct ports on 127.0.0.1 that were free a moment ago (the kernel's picks; every socket stays
// bound until all are picked). kNetwork error when the kernel gives none.
Result<std::vector<int>> free_ports(int n);

// The most tasks one job may have: ps tasks, and worker tasks counting the chief. Every count is held
// to it: --ps/--workers/--replicas-to-aggregate, --cluster specs and TF_CONFIG (validate_cluster_spec),
// k8s render, and the live-fault slots of the threads transport (LiveFaults).
inline constexpr int kMaxTasksPerRole = 64;

struct ClusterSpec {
  std::vector<std::string> ps, worker;  // "host:port", validated
  int num_ps() const { return static_cast<int>(ps.size()); }
  int num_workers() const { return static_cast<int>(worker.size()); }
  // The address of `task`; precondition: contains(task).
  const std::string& address(const TaskId& task) const;
  bool contains(const TaskId& task) const;
  // Every task, ps first, then workers.
  std::vector<TaskId> tasks() const;
  // {"ps":[...],"worker":[...]} (compact JSON).
  std::string to_json() const;
  // Every address is a loopback one (127.x.y.z, localhost or ::1): the tasks share one machine.
  bool on_one_machine() const;
};

// Checks both lists are non-empty and at most kMaxTasksPerRole long, every address is host:port, and
// no address repeats.
Status validate_cluster_spec(const ClusterSpec& spec);

// Parses the cluster object (the JSON text of {"ps": [...], "worker": [...], "chief": [...]?}).
Result<ClusterSpec> parse_cluster_spec(const std::string& json_text);
// `json_or_file` starting with '{' is JSON; anything else is a path to a file holding it.
Result<ClusterSpec> load_cluster_spec(const std::string& json_or_file);

// A task's view of the cluster, as TF_CONFIG gives it.
struct TaskConfig {
  ClusterSpec cluster;
  TaskId task;  // validated: inside the cluster
};
// Parses TF_CONFIG's JSON: "cluster" required, "task" {"type", "index"} required; "chief" index 0
// maps to worker 0 and "worker" i to worker i+1 when a chief job is present.
Result<TaskConfig> parse_tf_config(const std::string& json_text);
// Reads the TF_CONFIG environment variable; kConfig error when unset or bad.
Result<TaskConfig> tf_config_from_env();

// A spec for `ps` + `workers` tasks on one host with consecutive ports from `base_port`
// (ps first), for the threads transport and local process clusters.
ClusterSpec local_cluster_spec(int ps, int workers, int base_port = 2222);

}  // namespace podlab
