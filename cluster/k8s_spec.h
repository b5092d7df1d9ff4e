// What `podlab k8s render` needs to know about a run, checked before anything is rendered, and the
// names every manifest derives from it. The cluster spec the pods use comes from the same
// ClusterSpec type that drives the local modes: task i of job J listens on
//   <name>-<J>-<i>.<name>.<namespace>.svc.<domain>:<port>
// which an Indexed Job (hostname <job>-<index>) under the headless Service <name> (the pods'
// subdomain) makes resolvable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cluster/cluster_spec.h"

namespace podlab {

// --storage pvc:CLASS | nfs:SERVER:/PATH | none
struct K8sStorage {
  enum class Kind { kNone, kPvc, kNfs } kind = Kind::kNone;
  std::string storage_class;  // pvc: the StorageClass (must offer ReadWriteMany)
  std::string server, path;   // nfs: server host name or IP, absolute export path
  std::string to_string() const;
};
// kUsage error naming the accepted forms when `text` is not one of them.
Result<K8sStorage> parse_k8s_storage(const std::string& text);

struct K8sOptions {
  std::string name;                // DNS-1035 label: the Service, and the prefix of every object
  std::string ns = "default";      // namespace (DNS-1123 label)
  std::string image;               // container image reference, required
  std::string image_pull_policy = "IfNotPresent";
  std::string format = "jobs";     // jobs | tfjob
  std::string mode = "async";      // async | sync | ssp:K (SyncMode)
  int ps = 1, workers = 2;
  int port = 2222;                 // training traffic (zmq), every pod
  int metrics_port = 9090;         // /metrics /healthz /readyz, every pod
  std::string cluster_domain = "cluster.local";
  K8sStorage storage;
  std::string storage_size = "10Gi";  // pvc request
  // Training flags every task gets, as (flag without "--", value), e.g. {"model", "cnn"}. They go
  // into the ConfigMap as PODLAB_<FLAG> and reach the containers as "--flag $(PODLAB_FLAG)".
  std::vector<std::pair<std::string, std::string>> training;
  std::string fetch_dataset;       // non-empty: an init container runs `podlab data fetch` into the volume
  // CURVE keys (file name -> contents), as `podlab keys generate --workers M` writes them: split into
  // a ps Secret (server.key, server.pub, authorized_clients) and a worker Secret (server.pub,
  // client*.key/pub), mounted at /etc/podlab/keys with PODLAB_KEYS pointing there. Empty: plain TCP.
  std::map<std::string, std::string> keys;
  // Every ps and worker pod's requests and limits (k8s_quantity.h); a request above its limit is refused.
  std::string cpu_request = "500m", cpu_limit = "2", memory_request = "512Mi", memory_limit = "2Gi";
  int64_t active_deadline_s = 6 * 3600;  // the whole run, per Job
  int64_t ttl_after_finished_s = 24 * 3600;
  int backoff_limit_per_index = 3;       // retries of one task (infrastructure failures only)
  int peer_dns_timeout_s = 300;          // how long a pod waits for its peers' DNS names
  // The chief checkpoints the ps state every this many seconds into /data/runs/<name>/checkpoints on
  // the data volume; a replacement ps restores the newest one. 0: no checkpoints.
  int checkpoint_secs = 60;
};

// Checks names (DNS-1035/1123, length left for "-<role>-<index>" host names), counts, image,
// ports, mode, storage, resources (Kubernetes quantities, each request at most its limit) and
// training flags. kUsage errors say which flag and why.
Status validate_k8s_options(const K8sOptions& o);

// "<name>-ps" / "<name>-worker": the Job (and, with an index, the pod host) names.
std::string k8s_job_name(const K8sOptions& o, Role role);
// "<name>-ps-0": the hostname an Indexed Job gives the pod of `task`.
std::string k8s_pod_host(const K8sOptions& o, const TaskId& task);
// "<name>-ps-0.<name>.<ns>.svc.<domain>": the pod's DNS name through the headless Service.
std::string k8s_pod_fqdn(const K8sOptions& o, const TaskId& task);
// The cluster spec the pods use (every task at its FQDN and o.port). Precondition: validated options.
ClusterSpec k8s_cluster_spec(const K8sOptions& o);
// "PODLAB_MAX_STEPS" for the training flag "max-steps".
std::string k8s_training_env_name(const std::string& flag);

// DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. DNS-1035 also starts with a letter.
bool is_dns1123_label(const std::string& s);
bool is_dns1035_label(const std::string& s);

}  // namespace podlab
