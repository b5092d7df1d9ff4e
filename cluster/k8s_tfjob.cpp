// The `tfjob` format: one Kubeflow TFJob (kubeflow.org/v1, training-operator v1.9) with a PS and a
// Worker replica set; worker 0 is the chief (podlab's convention and the operator's when no Chief
// replica is given). The operator creates one Service per pod and injects TF_CONFIG with hosts
// <name>-<type>-<i>.<namespace>.svc:<port> into the container named "tensorflow".
#include "cluster/k8s_objects.h"

namespace podlab {

k8s_json k8s_tfjob(const K8sOptions& o) {
  // ExitCode: the operator re-creates a pod only for exit codes it deems retryable (130, 137, 138,
  // 143: signals); podlab's 1..6 are permanent there. AllWorkers: the job succeeds when every worker
  // has, and the ps pods (which exit 0 when the chief stops them) are then cleaned up if still running.
  auto replica = [&](Role role, int replicas) {
    return k8s_json{{"replicas", replicas}, {"restartPolicy", "ExitCode"}, {"template", k8s_pod_template(o, role, K8sFlavor::kTfJob)}};
  };
  return {{"apiVersion", "kubeflow.org/v1"},
          {"kind", "TFJob"},
          {"metadata", k8s_metadata(o, o.name)},
          {"spec",
           {{"runPolicy",
             {{"cleanPodPolicy", "Running"},
              {"ttlSecondsAfterFinished", o.ttl_after_finished_s},
              {"activeDeadlineSeconds", o.active_deadline_s},
              {"backoffLimit", o.backoff_limit_per_index * (o.ps + o.workers)}}},
            {"successPolicy", "AllWorkers"},
            {"tfReplicaSpecs", {{"PS", replica(Role::kPs, o.ps)}, {"Worker", replica(Role::kWorker, o.workers)}}}}}};
}

}  // namespace podlab
