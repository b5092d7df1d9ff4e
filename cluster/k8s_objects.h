// The pieces of the Kubernetes objects that the `jobs` and `tfjob` renderers share: labels, the pod
// spec (container, probes, resources, securityContext, volumes), and the ConfigMap, Secret, PVC and
// NetworkPolicy around them. Private to cluster/k8s_*.cpp (it exposes nlohmann::ordered_json).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "cluster/k8s_spec.h"

namespace podlab {

using k8s_json = nlohmann::ordered_json;

// Which controller runs the pods: they differ in container name, how a task learns its identity
// (cluster file + JOB_COMPLETION_INDEX, or TF_CONFIG) and in subdomain/restart handling.
enum class K8sFlavor { kJobs, kTfJob };

// Labels every object and pod carries; `role` adds podlab.io/role.
k8s_json k8s_labels(const K8sOptions& o);
k8s_json k8s_role_labels(const K8sOptions& o, Role role);
// The labels the Service, NetworkPolicy and `podlab k8s status` select pods by.
k8s_json k8s_selector(const K8sOptions& o);
k8s_json k8s_metadata(const K8sOptions& o, const std::string& name);

// The pod template ({metadata, spec}) of one role.
k8s_json k8s_pod_template(const K8sOptions& o, Role role, K8sFlavor flavor);

// ConfigMap, then the ps and worker Secrets (when o.keys), then PVC (pvc storage), then NetworkPolicy.
std::vector<k8s_json> k8s_support_objects(const K8sOptions& o, K8sFlavor flavor);

std::string k8s_config_map_name(const K8sOptions& o);  // <name>-config
std::string k8s_secret_name(const K8sOptions& o, Role role);  // <name>-ps-keys / <name>-worker-keys
std::string k8s_claim_name(const K8sOptions& o);       // <name>-data

}  // namespace podlab
