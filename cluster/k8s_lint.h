// podlab's own checks on rendered Kubernetes manifests: the rules the API schemas cannot express
// (tier 1 of ../shared/docs/k8s-testing.md). Offline schema validation (kubernetes-models) catches
// types, enums and required fields; this catches what makes a valid object a broken run:
//   - names are DNS-1123 labels (the Service a DNS-1035 label), pod host names <job>-<i> fit in 63
//     characters, every object is in the run's namespace;
//   - the headless Service has clusterIP None and publishNotReadyAddresses; each Job's pods use it as
//     subdomain; the Service and NetworkPolicy selectors match the pod template labels;
//   - Indexed Jobs: completions == parallelism == the role's task count; restartPolicy Never (a
//     podFailurePolicy requires it); podFailurePolicy rules name an existing container, never exit 0;
//   - the ConfigMap's cluster spec lists exactly <job>-<i>.<service>.<ns>.svc.<domain>:<port> for every task;
//   - every port is in 1..65535; every container has an image; probes use a declared port name;
//     every $(VAR) in args is declared in env; every configMapKeyRef key, volume and claim exists;
//   - containers are non-root, read-only root filesystem, no privilege escalation, all capabilities dropped;
//   - a TFJob names its container "tensorflow" and has the replica counts asked for.
#pragma once

#include <string>
#include <vector>

#include "cluster/k8s_render.h"

namespace podlab {

// Every problem found, each "<Kind>/<name>: <what>" (empty when the manifests are sound).
std::vector<std::string> k8s_lint_problems(const std::vector<K8sDocument>& docs, const K8sOptions& o);
// kConfig error listing the problems, or Ok.
Status lint_k8s_documents(const std::vector<K8sDocument>& docs, const K8sOptions& o);

}  // namespace podlab
