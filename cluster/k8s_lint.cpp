// Checks on rendered manifests that schemas miss (see k8s_lint.h). Works on the JSON of each
// document, so the same checks run on what render produced and on deliberately broken copies in tests.
#include "cluster/k8s_lint.h"

#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

namespace podlab {
namespace {

using json = nlohmann::ordered_json;

struct Linter {
  const K8sOptions& o;
  std::vector<std::string> problems;
  std::string where;  // "Kind/name" of the document being checked
  std::set<std::string> secrets_;  // names of the rendered Secrets

  void fail(const std::string& what) { problems.push_back(where + ": " + what); }

  const json* at(const json& j, std::initializer_list<const char*> path) {
    const json* cur = &j;
    for (const char* key : path) {
      if (!cur->is_object() || !cur->contains(key)) return nullptr;
      cur = &(*cur)[key];
    }
    return cur;
  }
  std::string str(const json& j, std::initializer_list<const char*> path) {
    const json* v = at(j, path);
    return v && v->is_string() ? v->get<std::string>() : std::string();
  }

  // Every value under a key named "port", "containerPort" or "targetPort" that is a number.
  void check_ports(const json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if ((it.key() == "port" || it.key() == "containerPort" || it.key() == "targetPort") && it.value().is_number()) {
          const auto p = it.value().get<int64_t>();
          if (p < 1 || p > 65535) fail(it.key() + " " + std::to_string(p) + " is outside 1..65535");
        }
        check_ports(it.value());
      }
    } else if (j.is_array()) {
      for (const json& v : j) check_ports(v);
    }
  }

  bool labels_match(const json& selector, const json* labels) {
    if (!selector.is_object() || selector.empty() || !labels || !labels->is_object()) return false;
    for (auto it = selector.begin(); it != selector.end(); ++it)
      if (!labels->contains(it.key()) || (*labels)[it.key()] != it.value()) return false;
    return true;
  }

  void check_container(const json& c, const std::map<std::string, const json*>& config_maps, const std::set<std::string>& volumes,
                       bool main) {
    const std::string name = str(c, {"name"});
    if (str(c, {"image"}).empty()) fail("container \"" + name + "\" has no image");
    std::set<std::string> env, port_names;
    if (const json* e = at(c, {"env"}))
      for (const json& v : *e) {
        env.insert(str(v, {"name"}));
        if (const json* ref = at(v, {"valueFrom", "configMapKeyRef"})) {
          auto cm = config_maps.find(str(*ref, {"name"}));
          const std::string key = str(*ref, {"key"});
          if (cm == config_maps.end()) fail("container \"" + name + "\" reads ConfigMap \"" + str(*ref, {"name"}) + "\", which is not rendered");
          else if (!at(*cm->second, {"data"}) || !(*cm->second)["data"].contains(key))
            fail("container \"" + name + "\" reads key " + key + " missing from ConfigMap " + cm->first);
        }
      }
    if (const json* a = at(c, {"args"}))
      for (const json& arg : *a) {
        const std::string s = arg.is_string() ? arg.get<std::string>() : std::string();
        for (size_t p = s.find("$("); p != std::string::npos; p = s.find("$(", p + 2)) {
          const size_t end = s.find(')', p);
          const std::string var = s.substr(p + 2, end == std::string::npos ? std::string::npos : end - p - 2);
          if (!env.count(var)) fail("container \"" + name + "\" uses $(" + var + ") in args but sets no env " + var);
        }
      }
    if (const json* ports = at(c, {"ports"}))
      for (const json& p : *ports) port_names.insert(str(p, {"name"}));
    for (const char* probe : {"readinessProbe", "livenessProbe", "startupProbe"}) {
      const json* port = at(c, {probe, "httpGet", "port"});
      if (port && port->is_string() && !port_names.count(port->get<std::string>()))
        fail("container \"" + name + "\" " + probe + " uses port \"" + port->get<std::string>() + "\", which it does not declare");
    }
    if (main && !at(c, {"readinessProbe"})) fail("container \"" + name + "\" has no readinessProbe");
    if (main && !at(c, {"livenessProbe"})) fail("container \"" + name + "\" has no livenessProbe");
    if (main && !at(c, {"resources", "limits", "memory"})) fail("container \"" + name + "\" has no memory limit");
    if (const json* mounts = at(c, {"volumeMounts"}))
      for (const json& m : *mounts)
        if (!volumes.count(str(m, {"name"}))) fail("container \"" + name + "\" mounts undeclared volume \"" + str(m, {"name"}) + "\"");
    const json* sc = at(c, {"securityContext"});
    if (!sc || (*sc)["allowPrivilegeEscalation"] != false || (*sc)["readOnlyRootFilesystem"] != true ||
        (*sc)["runAsNonRoot"] != true || !at(*sc, {"capabilities", "drop"}) || (*sc)["capabilities"]["drop"] != json::array({"ALL"}))
      fail("container \"" + name + "\" is not locked down (need runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, drop ALL)");
  }

  // A pod template of `role`; `job` is the name the pods' host names start with.
  void check_template(const json& t, Role role, const std::string& job, int replicas, const std::string& container,
                      const std::map<std::string, const json*>& config_maps, const std::set<std::string>& claims,
                      const std::string& subdomain) {
    const std::set<std::string>& secrets = secrets_;
    const json* labels = at(t, {"metadata", "labels"});
    if (!labels_match(json{{"podlab.io/job", o.name}}, labels)) fail("pod template lacks the label podlab.io/job=" + o.name);
    if (str(t, {"metadata", "labels", "podlab.io/role"}) != role_name(role)) fail("pod template has the wrong podlab.io/role");
    const std::string host = job + "-" + std::to_string(replicas - 1);
    if (!is_dns1123_label(host)) fail("pod host name " + host + " is not a DNS label of at most 63 characters");
    const json* spec = at(t, {"spec"});
    if (!spec) return fail("pod template has no spec");
    if (!subdomain.empty() && str(*spec, {"subdomain"}) != subdomain)
      fail("pods' subdomain \"" + str(*spec, {"subdomain"}) + "\" is not the headless Service \"" + subdomain + "\"");
    if (str(*spec, {"restartPolicy"}) != "Never") fail("pods must use restartPolicy Never (a podFailurePolicy requires it)");
    if (str(*spec, {"securityContext", "seccompProfile", "type"}) != "RuntimeDefault" || at(*spec, {"securityContext", "runAsNonRoot"}) == nullptr)
      fail("pod securityContext must set runAsNonRoot and the RuntimeDefault seccomp profile");
    std::set<std::string> volumes;
    if (const json* v = at(*spec, {"volumes"}))
      for (const json& vol : *v) {
        volumes.insert(str(vol, {"name"}));
        const std::string secret = str(vol, {"secret", "secretName"});
        if (!secret.empty() && !secrets.count(secret)) fail("volume uses Secret \"" + secret + "\", which is not rendered");
        const std::string claim = str(vol, {"persistentVolumeClaim", "claimName"});
        if (!claim.empty() && !claims.count(claim)) fail("volume uses PersistentVolumeClaim \"" + claim + "\", which is not rendered");
      }
    const json* containers = at(*spec, {"containers"});
    if (!containers || containers->size() != 1) return fail("pods must have exactly one container");
    if (str((*containers)[0], {"name"}) != container) fail("the container must be named \"" + container + "\"");
    check_container((*containers)[0], config_maps, volumes, true);
    if (const json* init = at(*spec, {"initContainers"}))
      for (const json& c : *init) check_container(c, config_maps, volumes, false);
  }

  void check_pod_failure_policy(const json& job, const std::string& container) {
    const json* rules = at(job, {"spec", "podFailurePolicy", "rules"});
    if (!rules || rules->empty()) return fail("Job has no podFailurePolicy");
    std::set<int64_t> fail_job;
    for (const json& r : *rules) {
      const json* codes = at(r, {"onExitCodes"});
      if (!codes) continue;
      if (str(*codes, {"containerName"}) != container) fail("podFailurePolicy rule names container \"" + str(*codes, {"containerName"}) + "\"");
      for (const json& v : (*codes)["values"]) {
        if (v == 0) fail("podFailurePolicy lists exit code 0 (success is never a failure)");
        if (str(r, {"action"}) == "FailJob") fail_job.insert(v.get<int64_t>());
      }
    }
    for (int64_t code : {2, 3, 4})  // usage, config, data: retrying the same pod cannot help
      if (!fail_job.count(code)) fail("podFailurePolicy does not fail the Job on exit code " + std::to_string(code));
  }

  void run(const std::vector<K8sDocument>& docs) {
    std::vector<json> objs;
    for (const K8sDocument& d : docs) {
      try {
        objs.push_back(json::parse(d.json));
      } catch (const std::exception& e) {
        where = d.kind + "/" + d.name;
        fail(std::string("not JSON: ") + e.what());
        return;
      }
    }
    std::map<std::string, const json*> config_maps;
    std::set<std::string> claims;
    const json* service = nullptr;
    std::vector<const json*> pod_labels;  // of every pod template
    for (const json& j : objs) {
      const std::string kind = str(j, {"kind"});
      if (kind == "ConfigMap") config_maps[str(j, {"metadata", "name"})] = &j;
      if (kind == "PersistentVolumeClaim") claims.insert(str(j, {"metadata", "name"}));
      if (kind == "Secret") secrets_.insert(str(j, {"metadata", "name"}));
      if (kind == "Service") service = &j;
      if (const json* t = at(j, {"spec", "template", "metadata", "labels"})) pod_labels.push_back(t);
      if (const json* r = at(j, {"spec", "tfReplicaSpecs"}))
        for (const auto& [type, spec] : r->items())
          if (const json* t = at(spec, {"template", "metadata", "labels"})) pod_labels.push_back(t);
    }
    const ClusterSpec expected = k8s_cluster_spec(o);
    for (const json& j : objs) {
      const std::string kind = str(j, {"kind"}), name = str(j, {"metadata", "name"});
      where = kind + "/" + name;
      if (!is_dns1123_label(name)) fail("metadata.name \"" + name + "\" is not a DNS-1123 label");
      if (str(j, {"metadata", "namespace"}) != o.ns) fail("namespace is not " + o.ns);
      if (!labels_match(json{{"podlab.io/job", o.name}}, at(j, {"metadata", "labels"}))) fail("object lacks the label podlab.io/job=" + o.name);
      check_ports(j);
      if (kind == "Service") {
        if (!is_dns1035_label(name)) fail("a Service name must start with a letter");
        if (str(j, {"spec", "clusterIP"}) != "None") fail("the Service must be headless (clusterIP: None)");
        const json* pna = at(j, {"spec", "publishNotReadyAddresses"});
        if (!pna || *pna != true) fail("publishNotReadyAddresses must be true (peers resolve each other before they are ready)");
      } else if (kind == "ConfigMap" && o.format == "jobs") {
        auto spec = parse_cluster_spec(str(j, {"data", "cluster.json"}));
        if (!spec.ok()) fail("cluster.json: " + spec.status().message());
        else if (spec->ps != expected.ps || spec->worker != expected.worker)
          fail("cluster.json does not list <job>-<i>.<service>.<namespace>.svc.<domain>:<port> for every task: " + spec->to_json());
      } else if (kind == "Job") {
        const Role role = name == k8s_job_name(o, Role::kPs) ? Role::kPs : Role::kWorker;
        if (name != k8s_job_name(o, role)) fail("unexpected Job name");
        const int replicas = role == Role::kPs ? o.ps : o.workers;
        if (str(j, {"spec", "completionMode"}) != "Indexed") fail("completionMode must be Indexed (stable host names)");
        const json* completions = at(j, {"spec", "completions"});
        const json* parallelism = at(j, {"spec", "parallelism"});
        if (!completions || *completions != replicas) fail("completions must be " + std::to_string(replicas));
        if (!parallelism || *parallelism != replicas) fail("parallelism must be " + std::to_string(replicas));
        if (at(j, {"spec", "selector"})) fail("let the Job controller generate the selector");
        for (const char* f : {"activeDeadlineSeconds", "ttlSecondsAfterFinished", "backoffLimitPerIndex"})
          if (!at(j, {"spec", f})) fail(std::string("spec.") + f + " is not set");
        check_pod_failure_policy(j, kK8sContainer);
        const json* t = at(j, {"spec", "template"});
        if (!t) fail("Job has no pod template");
        else {
          check_template(*t, role, name, replicas, kK8sContainer, config_maps, claims, service ? str(*service, {"metadata", "name"}) : "<no Service>");
          if (service && !labels_match((*service)["spec"]["selector"], at(*t, {"metadata", "labels"})))
            fail("the Service selector does not match this Job's pod labels");
        }
      } else if (kind == "NetworkPolicy") {
        const json* sel = at(j, {"spec", "podSelector", "matchLabels"});
        bool selects_all = sel && !pod_labels.empty();
        for (const json* labels : pod_labels) selects_all = selects_all && labels_match(*sel, labels);
        if (!selects_all) fail("podSelector does not select every pod of this run");
        bool training_port = false;
        if (const json* in = at(j, {"spec", "ingress"}))
          for (const json& rule : *in)
            if (rule.contains("from") && rule.contains("ports"))
              for (const json& p : rule["ports"]) training_port = training_port || p["port"] == o.port;
        if (!training_port) fail("no ingress rule admits this run's pods to the training port");
      } else if (kind == "TFJob") {
        for (const auto& [type, role, replicas] : {std::tuple<const char*, Role, int>{"PS", Role::kPs, o.ps}, {"Worker", Role::kWorker, o.workers}}) {
          const json* r = at(j, {"spec", "tfReplicaSpecs", type});
          if (!r) {
            fail(std::string("no ") + type + " replicas");
            continue;
          }
          if ((*r)["replicas"] != replicas) fail(std::string(type) + " replicas must be " + std::to_string(replicas));
          if (const json* t = at(*r, {"template"}))
            check_template(*t, role, name + "-" + (role == Role::kPs ? "ps" : "worker"), replicas, kK8sTfContainer, config_maps, claims, "");
        }
        if (str(j, {"spec", "successPolicy"}) != "AllWorkers") fail("successPolicy must be AllWorkers (the run ends when the workers do)");
      }
    }
  }

};

}  // namespace

std::vector<std::string> k8s_lint_problems(const std::vector<K8sDocument>& docs, const K8sOptions& o) {
  Linter l{o, {}, {}, {}};
  l.run(docs);
  return l.problems;
}

Status lint_k8s_documents(const std::vector<K8sDocument>& docs, const K8sOptions& o) {
  const auto problems = k8s_lint_problems(docs, o);
  if (problems.empty()) return Status::Ok();
  std::string msg = std::to_string(problems.size()) + " problem(s):";
  for (const std::string& p : problems) msg += "\n  " + p;
  return Status::Config(msg);
}

}  // namespace podlab
