// Validation and naming for `podlab k8s render` (see k8s_spec.h). Everything a user types is checked
// here, so the renderer can assume valid input and the lint (k8s_lint.h) can catch renderer bugs.
#include "cluster/k8s_spec.h"

#include <algorithm>
#include <cctype>

#include "cluster/context.h"
#include "cluster/k8s_quantity.h"

namespace podlab {
namespace {

const char* const kTrainingFlags[] = {"model", "dataset", "epochs", "batch", "lr", "optimizer", "lr-schedule",
                                      "momentum", "threads", "seed", "limit-train", "limit-test", "placement",
                                      "replicas-to-aggregate", "max-steps", "eval-limit", "retry-ms",
                                      "connect-timeout-s"};

int digits(int n) { return n < 10 ? 1 : 1 + digits(n / 10); }

// A pod's request must not exceed its limit: the API server refuses such a pod at apply time.
// The same resources go to every ps and worker pod, so the message names both roles.
Status check_request_within_limit(const char* what, const char* request_flag, const std::string& request,
                                  const char* limit_flag, const std::string& limit) {
  auto r = parse_k8s_quantity(request);
  if (!r.ok()) return r.status().With(request_flag);
  auto l = parse_k8s_quantity(limit);
  if (!l.ok()) return l.status().With(limit_flag);
  if (*l < *r)
    return Status::Usage(std::string(request_flag) + " " + request + " is more than " + limit_flag + " " + limit + ": the " +
                         what + " request of every ps and worker pod must not exceed its limit (Kubernetes refuses the "
                         "pods); raise " + limit_flag + " or lower " + request_flag);
  return Status::Ok();
}

bool is_host_name(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (start <= h.size()) {
    const size_t dot = h.find('.', start);
    const std::string label = h.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_dns1123_label(label)) return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

bool is_dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

bool is_dns1035_label(const std::string& s) { return is_dns1123_label(s) && s[0] >= 'a' && s[0] <= 'z'; }

std::string K8sStorage::to_string() const {
  switch (kind) {
    case Kind::kPvc: return "pvc:" + storage_class;
    case Kind::kNfs: return "nfs:" + server + ":" + path;
    case Kind::kNone: break;
  }
  return "none";
}

Result<K8sStorage> parse_k8s_storage(const std::string& text) {
  const std::string forms = " (expected pvc:STORAGECLASS, nfs:SERVER:/EXPORT/PATH or none)";
  K8sStorage s;
  if (text == "none") return s;
  if (text.rfind("pvc:", 0) == 0) {
    s.kind = K8sStorage::Kind::kPvc;
    s.storage_class = text.substr(4);
    if (!is_host_name(s.storage_class) || s.storage_class.size() > 253)
      return Status::Usage("bad --storage \"" + text + "\": the storage class must be a DNS-1123 name such as nfs-client" + forms);
    return s;
  }
  if (text.rfind("nfs:", 0) == 0) {
    s.kind = K8sStorage::Kind::kNfs;
    const std::string rest = text.substr(4);
    const size_t colon = rest.find(':');
    if (colon == std::string::npos)
      return Status::Usage("bad --storage \"" + text + "\": NFS needs a server and an export path" + forms);
    s.server = rest.substr(0, colon);
    s.path = rest.substr(colon + 1);
    std::string server_lower = s.server;
    std::transform(server_lower.begin(), server_lower.end(), server_lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_host_name(server_lower))
      return Status::Usage("bad --storage \"" + text + "\": \"" + s.server + "\" is not a host name or IPv4 address" + forms);
    if (s.path.empty() || s.path[0] != '/' || s.path.find_first_of(" \t\n\"'\\") != std::string::npos ||
        s.path.find("/../") != std::string::npos || s.path.size() > 1024)
      return Status::Usage("bad --storage \"" + text + "\": the export path must be absolute, like /exports/podlab" + forms);
    return s;
  }
  return Status::Usage("bad --storage \"" + text + "\"" + forms);
}

std::string k8s_job_name(const K8sOptions& o, Role role) { return o.name + "-" + role_name(role); }

std::string k8s_pod_host(const K8sOptions& o, const TaskId& t) {
  return k8s_job_name(o, t.role) + "-" + std::to_string(t.index);
}

std::string k8s_pod_fqdn(const K8sOptions& o, const TaskId& t) {
  return k8s_pod_host(o, t) + "." + o.name + "." + o.ns + ".svc." + o.cluster_domain;
}

ClusterSpec k8s_cluster_spec(const K8sOptions& o) {
  ClusterSpec s;
  for (int i = 0; i < o.ps; ++i) s.ps.push_back(k8s_pod_fqdn(o, {Role::kPs, i}) + ":" + std::to_string(o.port));
  for (int i = 0; i < o.workers; ++i) s.worker.push_back(k8s_pod_fqdn(o, {Role::kWorker, i}) + ":" + std::to_string(o.port));
  return s;
}

std::string k8s_training_env_name(const std::string& flag) {
  std::string env = "PODLAB_";
  for (char c : flag) env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return env;
}

Status validate_k8s_options(const K8sOptions& o) {
  const std::string counts = " must be in 1.." + std::to_string(kMaxTasksPerRole) + " (got ";
  if (o.ps < 1 || o.ps > kMaxTasksPerRole) return Status::Usage("--ps" + counts + std::to_string(o.ps) + ")");
  if (o.workers < 1 || o.workers > kMaxTasksPerRole)
    return Status::Usage("--workers" + counts + std::to_string(o.workers) + ")");
  // The longest host name is <name>-worker-<last index>; it must stay a DNS label (63 characters).
  const size_t longest_suffix =
      std::max(std::string("-ps-").size() + static_cast<size_t>(digits(o.ps - 1)),
               std::string("-worker-").size() + static_cast<size_t>(digits(o.workers - 1)));
  if (!is_dns1035_label(o.name))
    return Status::Usage("bad --name \"" + o.name + "\": use lower-case letters, digits and '-', starting with a letter "
                         "and ending with a letter or digit (it names the Service and the Jobs)");
  if (o.name.size() + longest_suffix > 63)
    return Status::Usage("--name \"" + o.name + "\" is too long: pod host names like " + o.name + "-worker-" +
                         std::to_string(o.workers - 1) + " must fit in 63 characters, so keep it to " +
                         std::to_string(63 - longest_suffix) + " characters");
  if (!is_dns1123_label(o.ns))
    return Status::Usage("bad --namespace \"" + o.ns + "\": use lower-case letters, digits and '-' (at most 63)");
  if (!is_host_name(o.cluster_domain)) return Status::Usage("bad --cluster-domain \"" + o.cluster_domain + "\"");
  if (o.image.empty()) return Status::Usage("--image is required (for example localhost/podlab:latest)");
  if (o.image.size() > 255 || o.image.find_first_of(" \t\n\"'\\$") != std::string::npos ||
      o.image.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") !=
          std::string::npos)
    return Status::Usage("bad --image \"" + o.image + "\": expected a reference like registry.example.com/podlab:0.1.0");
  if (o.image_pull_policy != "Always" && o.image_pull_policy != "IfNotPresent" && o.image_pull_policy != "Never")
    return Status::Usage("bad --pull-policy \"" + o.image_pull_policy + "\": Always, IfNotPresent or Never");
  if (o.format != "jobs" && o.format != "tfjob") return Status::Usage("bad --format \"" + o.format + "\": jobs or tfjob");
  auto mode = SyncMode::parse(o.mode);
  if (!mode.ok()) return Status::Usage("bad --mode: " + mode.status().message());
  for (const auto& [flag, port] : {std::pair<const char*, int>{"--port", o.port}, {"--metrics-port", o.metrics_port}})
    if (port < 1 || port > 65535)
      return Status::Usage(std::string(flag) + " must be 1-65535 (got " + std::to_string(port) + ")");
  if (o.port == o.metrics_port) return Status::Usage("--port and --metrics-port must differ");
  if (o.storage.kind == K8sStorage::Kind::kPvc)
    PODLAB_RETURN_IF_ERROR(parse_k8s_quantity(o.storage_size).status().With("--storage-size"));
  PODLAB_RETURN_IF_ERROR(check_request_within_limit("CPU", "--cpu", o.cpu_request, "--cpu-limit", o.cpu_limit));
  PODLAB_RETURN_IF_ERROR(check_request_within_limit("memory", "--memory", o.memory_request, "--memory-limit", o.memory_limit));
  if (o.active_deadline_s < 1) return Status::Usage("--deadline-s must be positive");
  if (o.ttl_after_finished_s < 0) return Status::Usage("--ttl-s must be >= 0");
  if (o.backoff_limit_per_index < 0 || o.backoff_limit_per_index > 100) return Status::Usage("--retries must be in 0..100");
  if (o.peer_dns_timeout_s < 1 || o.peer_dns_timeout_s > 3600) return Status::Usage("--dns-timeout-s must be in 1..3600");
  if (o.checkpoint_secs < 0 || o.checkpoint_secs > 86400) return Status::Usage("--checkpoint-secs must be in 0..86400 (0: off)");
  if (!o.fetch_dataset.empty() && o.fetch_dataset != "mnist" && o.fetch_dataset != "fashion-mnist")
    return Status::Usage("bad --fetch \"" + o.fetch_dataset + "\": mnist or fashion-mnist");
  for (const auto& [flag, value] : o.training)
    if (flag == "dataset" && !o.fetch_dataset.empty() && value != o.fetch_dataset)
      return Status::Usage("--fetch " + o.fetch_dataset + " with --dataset " + value + ": the pods read only the fetched " +
                           "dataset (their --data is its directory); fetch the dataset they train on: --fetch " + value);
  for (const auto& [flag, value] : o.training) {
    if (std::find(std::begin(kTrainingFlags), std::end(kTrainingFlags), flag) == std::end(kTrainingFlags))
      return Status::Usage("--" + flag + " is not a training flag podlab passes to its pods");
    if (value.empty() || value.size() > 256 || value.find_first_of("\n\r\"'\\$`") != std::string::npos)
      return Status::Usage("bad value \"" + value + "\" for --" + flag);
  }
  if (!o.keys.empty()) {
    for (const char* f : {"server.key", "server.pub", "authorized_clients"})
      if (!o.keys.count(f))
        return Status::Usage(std::string("the keys directory has no ") + f + ": create it with podlab keys generate --workers " +
                             std::to_string(o.workers));
    for (int i = 0; i < o.workers; ++i)
      if (!o.keys.count("client.key") && !o.keys.count("client-" + std::to_string(i) + ".key"))
        return Status::Usage("the keys directory has neither client.key nor client-" + std::to_string(i) +
                             ".key for worker " + std::to_string(i) + ": podlab keys generate --workers " + std::to_string(o.workers));
  }
  for (const auto& [file, text] : o.keys)
    if (file.empty() || file.size() > 253 || file.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
      return Status::Usage("key file name \"" + file + "\" cannot be a Secret key (letters, digits, '.', '_', '-')");
  return Status::Ok();
}

}  // namespace podlab
