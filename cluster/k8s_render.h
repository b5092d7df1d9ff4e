// `podlab k8s render`: Kubernetes manifests for one training run, from validated K8sOptions.
//   jobs  (default, no operator): ConfigMap (cluster spec + training flags), Secret (CURVE keys, when
//         given), PersistentVolumeClaim (pvc storage), headless Service, NetworkPolicy, and one
//         Indexed Job per role (ps, worker) whose pods use the Service as subdomain.
//   tfjob (Kubeflow training operator v1): the same ConfigMap/Secret/PVC/NetworkPolicy plus one TFJob;
//         the operator makes the Services and injects TF_CONFIG.
// Every document goes through lint_k8s_documents (k8s_lint.h) before it is returned, so a renderer
// bug is an error here rather than a broken cluster object.
#pragma once

#include <string>
#include <vector>

#include "cluster/k8s_spec.h"

namespace podlab {

// Paths and names inside the pods (the rendered manifests and the pod-side code agree on these).
inline constexpr const char* kK8sContainer = "podlab";          // the training container (jobs)
inline constexpr const char* kK8sTfContainer = "tensorflow";    // the container TFJob injects TF_CONFIG into
inline constexpr const char* kK8sConfigDir = "/etc/podlab/config";
inline constexpr const char* kK8sKeysDir = "/etc/podlab/keys";
inline constexpr const char* kK8sDataDir = "/data";
inline constexpr int kK8sUid = 10001;  // the image's non-root user (Dockerfile)

struct K8sDocument {
  std::string kind;  // "Job", "Service", ...
  std::string name;  // metadata.name
  std::string json;  // the whole object, compact JSON
};

// Renders the documents for o.format, in apply order. kUsage error for invalid options; kInternal
// when the lint finds a fault in what was rendered.
Result<std::vector<K8sDocument>> render_k8s(const K8sOptions& o);

// All documents as one YAML stream ("---" between documents).
Result<std::string> k8s_yaml_stream(const std::vector<K8sDocument>& docs);
// "03-service-NAME.yaml": the file name for document `i` when writing one file per object.
std::string k8s_file_name(const K8sDocument& doc, size_t i);
// Writes one YAML file per document into `dir` (created when missing), each atomically (temp + rename);
// Secrets with mode 0600, the rest 0644.
Status write_k8s_files(const std::vector<K8sDocument>& docs, const std::string& dir);

}  // namespace podlab
