// Shared pieces of the rendered Kubernetes objects (see k8s_objects.h). Field names and shapes follow
// the Kubernetes 1.31 API (core/v1, batch/v1, networking.k8s.io/v1).
#include "cluster/k8s_objects.h"

#include "cluster/k8s_render.h"

namespace podlab {
namespace {

const char* const kVolumeConfig = "config";
const char* const kVolumeKeys = "keys";
const char* const kVolumeData = "data";
const char* const kVolumeTmp = "tmp";

std::string base64(const std::string& in) {
  static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Non-root, no privilege escalation, no capabilities, read-only root filesystem (writes go to the
// data volume and an emptyDir at /tmp).
k8s_json container_security() {
  return {{"allowPrivilegeEscalation", false},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true},
          {"capabilities", {{"drop", {"ALL"}}}}};
}

k8s_json resources(const K8sOptions& o) {
  return {{"requests", {{"cpu", o.cpu_request}, {"memory", o.memory_request}}},
          {"limits", {{"cpu", o.cpu_limit}, {"memory", o.memory_limit}}}};
}

k8s_json volume_mounts(const K8sOptions& o, bool config) {
  k8s_json m = k8s_json::array();
  if (config) m.push_back({{"name", kVolumeConfig}, {"mountPath", kK8sConfigDir}, {"readOnly", true}});
  if (!o.keys.empty()) m.push_back({{"name", kVolumeKeys}, {"mountPath", kK8sKeysDir}, {"readOnly", true}});
  m.push_back({{"name", kVolumeData}, {"mountPath", kK8sDataDir}});
  m.push_back({{"name", kVolumeTmp}, {"mountPath", "/tmp"}});
  return m;
}

// Which key files a role's pods get (the layout of `podlab keys generate`, cluster/curve_keys.h): a ps
// needs the server pair and the authorized client list, a worker the server's public key and the
// client pairs. Neither gets the other side's secret.
bool key_file_for(Role role, const std::string& file) {
  if (file == "server.pub") return true;
  if (role == Role::kPs) return file == "server.key" || file == "authorized_clients";
  return file.rfind("client", 0) == 0;
}

k8s_json volumes(const K8sOptions& o, Role role) {
  k8s_json v = k8s_json::array();
  v.push_back({{"name", kVolumeConfig}, {"configMap", {{"name", k8s_config_map_name(o)}}}});
  if (!o.keys.empty())
    v.push_back({{"name", kVolumeKeys}, {"secret", {{"secretName", k8s_secret_name(o, role)}, {"defaultMode", 0440}}}});
  switch (o.storage.kind) {
    case K8sStorage::Kind::kPvc:
      v.push_back({{"name", kVolumeData}, {"persistentVolumeClaim", {{"claimName", k8s_claim_name(o)}}}});
      break;
    case K8sStorage::Kind::kNfs:
      v.push_back({{"name", kVolumeData}, {"nfs", {{"server", o.storage.server}, {"path", o.storage.path}}}});
      break;
    case K8sStorage::Kind::kNone:
      v.push_back({{"name", kVolumeData}, {"emptyDir", k8s_json::object()}});
      break;
  }
  v.push_back({{"name", kVolumeTmp}, {"emptyDir", {{"sizeLimit", "1Gi"}}}});
  return v;
}

std::string dataset_dir(const K8sOptions& o) { return std::string(kK8sDataDir) + "/datasets/" + o.fetch_dataset; }

// The training flags every task gets, through the ConfigMap's PODLAB_* keys.
std::vector<std::pair<std::string, std::string>> training_flags(const K8sOptions& o) {
  std::vector<std::pair<std::string, std::string>> flags = {{"mode", o.mode}};
  for (const auto& f : o.training) flags.push_back(f);
  return flags;
}

k8s_json container(const K8sOptions& o, Role role, K8sFlavor flavor) {
  k8s_json args = {role_name(role)};
  if (flavor == K8sFlavor::kJobs) {  // index from JOB_COMPLETION_INDEX (set by the Indexed Job)
    args.push_back("--cluster");
    args.push_back(std::string(kK8sConfigDir) + "/cluster.json");
  }
  for (const std::string& a : {std::string("--metrics-port"), std::to_string(o.metrics_port), std::string("--dns-timeout-s"),
                               std::to_string(o.peer_dns_timeout_s)})
    args.push_back(a);
  if (o.checkpoint_secs > 0)
    for (const std::string& a : {std::string("--checkpoint-dir"), std::string(kK8sDataDir) + "/runs/" + o.name + "/checkpoints",
                                 std::string("--ps-checkpoint-secs"), std::to_string(o.checkpoint_secs)})
      args.push_back(a);
  k8s_json env = k8s_json::array();
  for (const auto& [flag, value] : training_flags(o)) {
    const std::string var = k8s_training_env_name(flag);
    args.push_back("--" + flag);
    args.push_back("$(" + var + ")");
    env.push_back({{"name", var}, {"valueFrom", {{"configMapKeyRef", {{"name", k8s_config_map_name(o)}, {"key", var}}}}}});
  }
  if (!o.fetch_dataset.empty()) {
    args.push_back("--data");
    args.push_back(dataset_dir(o));
  }
  args.push_back("--json");
  env.push_back({{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}});
  env.push_back({{"name", "XDG_CACHE_HOME"}, {"value", "/tmp/cache"}});
  if (!o.keys.empty()) env.push_back({{"name", "PODLAB_KEYS"}, {"value", kK8sKeysDir}});

  k8s_json ports = k8s_json::array();
  // The training operator finds the task port by this name; plain Jobs just document it.
  ports.push_back({{"name", flavor == K8sFlavor::kTfJob ? "tfjob-port" : "training"}, {"containerPort", o.port}, {"protocol", "TCP"}});
  ports.push_back({{"name", "metrics"}, {"containerPort", o.metrics_port}, {"protocol", "TCP"}});
  return {{"name", flavor == K8sFlavor::kTfJob ? kK8sTfContainer : kK8sContainer},
          {"image", o.image},
          {"imagePullPolicy", o.image_pull_policy},
          {"args", args},
          {"env", env},
          {"ports", ports},
          {"readinessProbe", {{"httpGet", {{"path", "/readyz"}, {"port", "metrics"}}}, {"periodSeconds", 5}, {"failureThreshold", 3}}},
          {"livenessProbe",
           {{"httpGet", {{"path", "/healthz"}, {"port", "metrics"}}}, {"initialDelaySeconds", 10}, {"periodSeconds", 10},
            {"timeoutSeconds", 5}, {"failureThreshold", 6}}},
          {"resources", resources(o)},
          {"securityContext", container_security()},
          {"volumeMounts", volume_mounts(o, flavor == K8sFlavor::kJobs)}};
}

k8s_json fetch_container(const K8sOptions& o) {
  return {{"name", "fetch-data"},
          {"image", o.image},
          {"imagePullPolicy", o.image_pull_policy},
          {"args", {"data", "fetch", o.fetch_dataset, "--dir", dataset_dir(o)}},
          {"env", {{{"name", "XDG_CACHE_HOME"}, {"value", "/tmp/cache"}}}},
          {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}, {"limits", {{"cpu", "1"}, {"memory", "512Mi"}}}}},
          {"securityContext", container_security()},
          {"volumeMounts", volume_mounts(o, false)}};
}

}  // namespace

std::string k8s_config_map_name(const K8sOptions& o) { return o.name + "-config"; }
std::string k8s_secret_name(const K8sOptions& o, Role role) { return o.name + "-" + role_name(role) + "-keys"; }
std::string k8s_claim_name(const K8sOptions& o) { return o.name + "-data"; }

k8s_json k8s_selector(const K8sOptions& o) { return {{"podlab.io/job", o.name}}; }

k8s_json k8s_labels(const K8sOptions& o) {
  return {{"app.kubernetes.io/name", "podlab"}, {"app.kubernetes.io/instance", o.name}, {"podlab.io/job", o.name}};
}

k8s_json k8s_role_labels(const K8sOptions& o, Role role) {
  k8s_json l = k8s_labels(o);
  l["podlab.io/role"] = role_name(role);
  return l;
}

k8s_json k8s_metadata(const K8sOptions& o, const std::string& name) {
  return {{"name", name}, {"namespace", o.ns}, {"labels", k8s_labels(o)}};
}

k8s_json k8s_pod_template(const K8sOptions& o, Role role, K8sFlavor flavor) {
  k8s_json spec;
  if (flavor == K8sFlavor::kJobs) spec["subdomain"] = o.name;  // <job>-<i>.<name>.<ns>.svc resolves
  spec["restartPolicy"] = "Never";  // a failed pod is replaced, as the podFailurePolicy decides
  spec["automountServiceAccountToken"] = false;
  spec["enableServiceLinks"] = false;
  spec["terminationGracePeriodSeconds"] = 60;  // SIGTERM: the chief checkpoints and stops the cluster
  spec["securityContext"] = {{"runAsNonRoot", true},
                             {"runAsUser", kK8sUid},
                             {"runAsGroup", kK8sUid},
                             {"fsGroup", kK8sUid},
                             {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (!o.fetch_dataset.empty()) spec["initContainers"] = {fetch_container(o)};
  spec["containers"] = {container(o, role, flavor)};
  spec["volumes"] = volumes(o, role);
  return {{"metadata",
           {{"labels", k8s_role_labels(o, role)},
            {"annotations",
             {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", std::to_string(o.metrics_port)}, {"prometheus.io/path", "/metrics"}}}}},
          {"spec", spec}};
}

std::vector<k8s_json> k8s_support_objects(const K8sOptions& o, K8sFlavor flavor) {
  std::vector<k8s_json> out;
  k8s_json data = k8s_json::object();
  if (flavor == K8sFlavor::kJobs) data["cluster.json"] = k8s_cluster_spec(o).to_json();
  for (const auto& [flag, value] : training_flags(o)) data[k8s_training_env_name(flag)] = value;
  out.push_back({{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", k8s_metadata(o, k8s_config_map_name(o))}, {"data", data}});

  if (!o.keys.empty())
    for (Role role : {Role::kPs, Role::kWorker}) {
      k8s_json keys = k8s_json::object();
      for (const auto& [file, text] : o.keys)
        if (key_file_for(role, file)) keys[file] = base64(text);
      out.push_back({{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata", k8s_metadata(o, k8s_secret_name(o, role))},
                     {"type", "Opaque"},
                     {"data", keys}});
    }
  if (o.storage.kind == K8sStorage::Kind::kPvc)
    out.push_back({{"apiVersion", "v1"},
                   {"kind", "PersistentVolumeClaim"},
                   {"metadata", k8s_metadata(o, k8s_claim_name(o))},
                   {"spec",
                    {{"accessModes", {"ReadWriteMany"}},
                     {"storageClassName", o.storage.storage_class},
                     {"resources", {{"requests", {{"storage", o.storage_size}}}}}}}});

  // Only this run's pods may reach the training port; the metrics port is open to scrapers in the
  // cluster. Egress stays open (DNS, dataset downloads).
  out.push_back({{"apiVersion", "networking.k8s.io/v1"},
                 {"kind", "NetworkPolicy"},
                 {"metadata", k8s_metadata(o, o.name)},
                 {"spec",
                  {{"podSelector", {{"matchLabels", k8s_selector(o)}}},
                   {"policyTypes", {"Ingress"}},
                   {"ingress",
                    {{{"from", {{{"podSelector", {{"matchLabels", k8s_selector(o)}}}}}},
                      {"ports", {{{"protocol", "TCP"}, {"port", o.port}}}}},
                     {{"ports", {{{"protocol", "TCP"}, {"port", o.metrics_port}}}}}}}}}});
  return out;
}

}  // namespace podlab
