// The `jobs` format (headless Service + one Indexed Job per role) and the entry points of
// k8s_render.h. Exit codes are podlab's (engine/status.h); the podFailurePolicy below is where
// Kubernetes learns what they mean.
#include "cluster/k8s_render.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cluster/k8s_lint.h"
#include "cluster/k8s_objects.h"
#include "cluster/yaml_text.h"

namespace podlab {

k8s_json k8s_tfjob(const K8sOptions& o);  // k8s_tfjob.cpp

namespace {

// podlab's exit codes as Job pod failure rules (evaluated in order):
//   1 internal, 2 usage, 3 config, 4 data  -> FailJob: retrying the same pod cannot help
//   a pod evicted or preempted (DisruptionTarget) -> Ignore: not the job's fault, not counted
//   5 io, 6 network, 130 interrupted, 137 killed, 143 killed or a chief left on SIGTERM -> Count: retried up to backoffLimitPerIndex
k8s_json pod_failure_policy() {
  return {{"rules",
           {{{"action", "FailJob"}, {"onExitCodes", {{"containerName", kK8sContainer}, {"operator", "In"}, {"values", {1, 2, 3, 4}}}}},
            {{"action", "Ignore"}, {"onPodConditions", {{{"type", "DisruptionTarget"}, {"status", "True"}}}}},
            {{"action", "Count"},
             {"onExitCodes", {{"containerName", kK8sContainer}, {"operator", "In"}, {"values", {5, 6, 130, 137, 143}}}}}}}};
}

k8s_json headless_service(const K8sOptions& o) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", k8s_metadata(o, o.name)},
          {"spec",
           {{"clusterIP", "None"},
            {"publishNotReadyAddresses", true},  // peers resolve before they are ready (they wait for each other)
            {"selector", k8s_selector(o)},
            {"ports",
             {{{"name", "training"}, {"port", o.port}, {"targetPort", o.port}, {"protocol", "TCP"}},
              {{"name", "metrics"}, {"port", o.metrics_port}, {"targetPort", o.metrics_port}, {"protocol", "TCP"}}}}}}};
}

k8s_json indexed_job(const K8sOptions& o, Role role) {
  const int replicas = role == Role::kPs ? o.ps : o.workers;
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata", k8s_metadata(o, k8s_job_name(o, role))},
          {"spec",
           {{"completionMode", "Indexed"},
            {"completions", replicas},
            {"parallelism", replicas},  // every task at once: they train together
            {"backoffLimitPerIndex", o.backoff_limit_per_index},
            {"maxFailedIndexes", 0},  // one task out of retries ends the run
            {"activeDeadlineSeconds", o.active_deadline_s},
            {"ttlSecondsAfterFinished", o.ttl_after_finished_s},
            {"podFailurePolicy", pod_failure_policy()},
            {"template", k8s_pod_template(o, role, K8sFlavor::kJobs)}}}};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<std::vector<K8sDocument>> render_k8s(const K8sOptions& o) {
  PODLAB_RETURN_IF_ERROR(validate_k8s_options(o));
  const K8sFlavor flavor = o.format == "tfjob" ? K8sFlavor::kTfJob : K8sFlavor::kJobs;
  std::vector<k8s_json> objects = k8s_support_objects(o, flavor);
  if (flavor == K8sFlavor::kJobs) {
    objects.insert(objects.end() - 1, headless_service(o));  // before the NetworkPolicy
    objects.push_back(indexed_job(o, Role::kPs));
    objects.push_back(indexed_job(o, Role::kWorker));
  } else {
    objects.push_back(k8s_tfjob(o));
  }
  std::vector<K8sDocument> docs;
  for (const k8s_json& obj : objects)
    docs.push_back({obj.at("kind").get<std::string>(), obj.at("metadata").at("name").get<std::string>(), obj.dump()});
  const Status lint = lint_k8s_documents(docs, o);
  if (!lint.ok()) return Status::Internal("the rendered manifests fail podlab's own lint (a bug): " + lint.message());
  return docs;
}

Result<std::string> k8s_yaml_stream(const std::vector<K8sDocument>& docs) {
  std::string out;
  for (const K8sDocument& d : docs) {
    auto yaml = json_to_yaml(d.json);
    if (!yaml.ok()) return yaml.status();
    out += "---\n" + *yaml;
  }
  return out;
}

std::string k8s_file_name(const K8sDocument& doc, size_t i) {
  char prefix[8];
  std::snprintf(prefix, sizeof prefix, "%02zu-", i + 1);
  return prefix + lower(doc.kind) + "-" + doc.name + ".yaml";
}

Status write_k8s_files(const std::vector<K8sDocument>& docs, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::Io("cannot create the output directory " + dir + ": " + std::strerror(errno) + " (check the path and permissions)");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::Io("the output directory " + dir + " is not a directory: give -o a directory for the YAML files");
  for (size_t i = 0; i < docs.size(); ++i) {
    auto yaml = json_to_yaml(docs[i].json);
    if (!yaml.ok()) return yaml.status();
    const std::string path = dir + "/" + k8s_file_name(docs[i], i);
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << "# rendered by podlab k8s render; apply with kubectl apply -f " << dir << "\n" << *yaml;
      if (!out.flush()) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Status::Io("cannot write " + tmp + ": " + std::strerror(err));
      }
    }
    // A Secret's file holds the CURVE secret keys (base64 is not encryption): owner-only.
    if (::chmod(tmp.c_str(), docs[i].kind == "Secret" ? 0600 : 0644) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return Status::Io("cannot rename " + tmp + " to " + path);
    }
  }
  return Status::Ok();
}

}  // namespace podlab
