// `podlab k8s render`: Kubernetes manifests for a ps/worker run (cluster/k8s_render.h), printed as
// one YAML stream or written one file per object with -o DIR.
#include <dirent.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "app/command.h"
#include "cluster/k8s_render.h"

namespace podlab {
namespace {

struct K8sRenderFlags {
  K8sOptions o;
  std::string storage = "none", out_dir, keys_dir;
  // Training flags passed through to every task (empty: the binary's defaults).
  std::string model, dataset, optimizer, lr_schedule, placement;
  std::string lr, batch, epochs, seed, max_steps, replicas, eval_limit, threads, limit_train, limit_test;
  bool json = false;
};

// Reads every regular file of `dir` (CURVE keys) for the Secret.
Status read_keys(const std::string& dir, std::map<std::string, std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::Io("cannot read the keys directory " + dir + " (create it with podlab keys generate)");
  Status st;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      st = Status::Io("cannot read key file " + dir + "/" + name);
      break;
    }
    (*out)[name] = ss.str();
  }
  ::closedir(d);
  if (st.ok() && out->empty()) st = Status::Config("the keys directory " + dir + " is empty");
  return st;
}

int run_render(K8sRenderFlags& f) {
  auto storage = parse_k8s_storage(f.storage);
  if (!storage.ok()) return report(storage.status());
  f.o.storage = *storage;
  const std::pair<const char*, const std::string*> pass[] = {
      {"model", &f.model},         {"dataset", &f.dataset},     {"optimizer", &f.optimizer}, {"lr-schedule", &f.lr_schedule},
      {"placement", &f.placement}, {"lr", &f.lr},               {"batch", &f.batch},         {"epochs", &f.epochs},
      {"seed", &f.seed},           {"max-steps", &f.max_steps}, {"replicas-to-aggregate", &f.replicas},
      {"eval-limit", &f.eval_limit}, {"threads", &f.threads}, {"limit-train", &f.limit_train}, {"limit-test", &f.limit_test}};
  for (const auto& [flag, value] : pass)
    if (!value->empty()) f.o.training.emplace_back(flag, *value);
  if (!f.keys_dir.empty()) {
    Status st = read_keys(f.keys_dir, &f.o.keys);
    if (!st.ok()) return report(st);
  }
  auto docs = render_k8s(f.o);
  if (!docs.ok()) return report(docs.status());
  if (!f.out_dir.empty()) {
    Status st = write_k8s_files(*docs, f.out_dir);
    if (!st.ok()) return report(st);
    for (size_t i = 0; i < docs->size(); ++i) std::printf("%s/%s\n", f.out_dir.c_str(), k8s_file_name((*docs)[i], i).c_str());
    return 0;
  }
  if (f.json) {  // one JSON array of the objects, for scripts (jq, tests)
    std::string out = "[";
    for (size_t i = 0; i < docs->size(); ++i) out += (i ? ",\n" : "\n") + (*docs)[i].json;
    std::printf("%s\n]\n", out.c_str());
    return 0;
  }
  auto yaml = k8s_yaml_stream(*docs);
  if (!yaml.ok()) return report(yaml.status());
  std::fwrite(yaml->data(), 1, yaml->size(), stdout);
  return 0;
}

void add_render_command(CLI::App& k8s, int& exit_code) {
  auto f = std::make_shared<K8sRenderFlags>();
  K8sOptions& o = f->o;
  CLI::App* r = k8s.add_subcommand("render", "Print (or write with -o) the manifests for a ps/worker run");
  r->add_option("--name", o.name, "Run name: the Service, and the prefix of every object")->required();
  r->add_option("--ps", o.ps, "Parameter-server tasks")->capture_default_str();
  r->add_option("--workers", o.workers, "Worker tasks (worker 0 is the chief)")->capture_default_str();
  r->add_option("--image", o.image, "Container image, e.g. localhost/podlab:latest")->required();
  r->add_option("--namespace", o.ns, "Kubernetes namespace")->capture_default_str();
  r->add_option("--storage", f->storage, "pvc:STORAGECLASS (ReadWriteMany), nfs:SERVER:/PATH or none (emptyDir)")->capture_default_str();
  r->add_option("--storage-size", o.storage_size, "PVC size request")->capture_default_str();
  r->add_option("--mode", o.mode, "async, sync or ssp:K")->capture_default_str();
  r->add_option("--format", o.format, "jobs (plain Indexed Jobs) or tfjob (Kubeflow training operator)")->capture_default_str();
  r->add_option("-o,--output-dir", f->out_dir, "Write one YAML file per object into DIR instead of printing");
  r->add_option("--port", o.port, "Training (zmq) port of every pod")->capture_default_str();
  r->add_option("--metrics-port", o.metrics_port, "HTTP port for /metrics, /healthz, /readyz")->capture_default_str();
  r->add_option("--cluster-domain", o.cluster_domain, "The cluster's DNS domain")->capture_default_str();
  r->add_option("--pull-policy", o.image_pull_policy, "Always, IfNotPresent or Never")->capture_default_str();
  r->add_option("--fetch", o.fetch_dataset, "mnist or fashion-mnist: an init container downloads it into the volume");
  r->add_option("--keys", f->keys_dir, "Directory of CURVE keys to put in a Secret (turns security on in the pods)");
  r->add_option("--cpu", o.cpu_request, "CPU request per pod")->capture_default_str();
  r->add_option("--cpu-limit", o.cpu_limit, "CPU limit per pod")->capture_default_str();
  r->add_option("--memory", o.memory_request, "Memory request per pod")->capture_default_str();
  r->add_option("--memory-limit", o.memory_limit, "Memory limit per pod")->capture_default_str();
  r->add_option("--deadline-s", o.active_deadline_s, "activeDeadlineSeconds of each Job")->capture_default_str();
  r->add_option("--ttl-s", o.ttl_after_finished_s, "ttlSecondsAfterFinished: delete finished Jobs after this long")->capture_default_str();
  r->add_option("--retries", o.backoff_limit_per_index, "Retries per task for infrastructure failures (backoffLimitPerIndex)")->capture_default_str();
  r->add_option("--dns-timeout-s", o.peer_dns_timeout_s, "How long a pod waits for its peers' DNS names")->capture_default_str();
  r->add_option("--model", f->model, "Training flags passed to every task (default: podlab's)");
  r->add_option("--dataset", f->dataset, "mnist or fashion-mnist");
  r->add_option("--optimizer", f->optimizer, "sgd, momentum or adam");
  r->add_option("--lr-schedule", f->lr_schedule, "Learning-rate schedule");
  r->add_option("--placement", f->placement, "round-robin or balanced");
  r->add_option("--lr", f->lr, "Learning rate");
  r->add_option("--batch", f->batch, "Batch per worker");
  r->add_option("--epochs", f->epochs, "Epochs");
  r->add_option("--seed", f->seed, "Seed");
  r->add_option("--max-steps", f->max_steps, "Stop after this many global steps");
  r->add_option("--replicas-to-aggregate", f->replicas, "sync: gradients averaged per step");
  r->add_option("--eval-limit", f->eval_limit, "Chief: evaluate on at most this many test samples");
  r->add_option("--threads", f->threads, "Compute threads per worker");
  r->add_option("--limit-train", f->limit_train, "Use only the first N training samples (smoke tests)");
  r->add_option("--limit-test", f->limit_test, "Use only the first N test samples (smoke tests)");
  r->add_flag("--json", f->json, "Print the objects as one JSON array instead of YAML");
  r->callback([f, &exit_code] { exit_code = run_render(*f); });
}

}  // namespace

void add_k8s_commands(CLI::App& root, int& exit_code) {
  CLI::App* k8s = root.add_subcommand("k8s", "Run the ps/worker cluster on Kubernetes: render manifests, manage a run");
  k8s->require_subcommand(1);
  add_render_command(*k8s, exit_code);
}

}  // namespace podlab
