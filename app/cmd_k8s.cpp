// `podlab k8s render`: Kubernetes manifests for a ps/worker run (cluster/k8s_render.h), printed as
// one YAML stream or written one file per object with -o DIR; `apply|status|logs|delete` manage a run
// through kubectl (app/kubectl.h), selecting its objects by the label podlab.io/job=NAME.
#include <dirent.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "app/cluster_flags.h"
#include "app/command.h"
#include "app/kubectl.h"
#include "cluster/curve_keys.h"
#include "cluster/k8s_spec.h"
#include "cluster/k8s_render.h"
#include "cluster/k8s_status.h"

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

// Options from the flags, then the rendered documents.
Result<std::vector<K8sDocument>> render_from_flags(K8sRenderFlags& f) {
  auto storage = parse_k8s_storage(f.storage);
  if (!storage.ok()) return storage.status();
  f.o.storage = *storage;
  const std::pair<const char*, const std::string*> pass[] = {
      {"model", &f.model},         {"dataset", &f.dataset},     {"optimizer", &f.optimizer}, {"lr-schedule", &f.lr_schedule},
      {"placement", &f.placement}, {"lr", &f.lr},               {"batch", &f.batch},         {"epochs", &f.epochs},
      {"seed", &f.seed},           {"max-steps", &f.max_steps}, {"replicas-to-aggregate", &f.replicas},
      {"eval-limit", &f.eval_limit}, {"threads", &f.threads}, {"limit-train", &f.limit_train}, {"limit-test", &f.limit_test}};
  for (const auto& [flag, value] : pass)
    if (!value->empty()) f.o.training.emplace_back(flag, *value);
  PODLAB_RETURN_IF_ERROR(validate_k8s_options(f.o));  // names, sizes and characters first
  PODLAB_RETURN_IF_ERROR(check_pod_training_flags(f.o.training, f.o.mode, f.o.workers));
  if (!f.keys_dir.empty()) {
    PODLAB_RETURN_IF_ERROR(read_keys(f.keys_dir, &f.o.keys));
    // Every task's keys load as they will in its pod (corrupt or mismatched files fail here).
    PODLAB_RETURN_IF_ERROR(load_curve_keys(f.keys_dir, TaskId{Role::kPs, 0}).status());
    for (int i = 0; i < f.o.workers; ++i) PODLAB_RETURN_IF_ERROR(load_curve_keys(f.keys_dir, TaskId{Role::kWorker, i}).status());
  }
  return render_k8s(f.o);
}

int run_render(K8sRenderFlags& f) {
  auto docs = render_from_flags(f);
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

void add_render_flags(CLI::App* r, const std::shared_ptr<K8sRenderFlags>& f) {
  K8sOptions& o = f->o;
  r->add_option("--name", o.name, "Run name: the Service, and the prefix of every object")->required();
  r->add_option("--ps", o.ps, "Parameter-server tasks")->capture_default_str();
  r->add_option("--workers", o.workers, "Worker tasks (worker 0 is the chief)")->capture_default_str();
  r->add_option("--image", o.image, "Container image, e.g. localhost/podlab:latest")->required();
  r->add_option("--namespace", o.ns, "Kubernetes namespace")->capture_default_str();
  r->add_option("--storage", f->storage, "pvc:STORAGECLASS (ReadWriteMany), nfs:SERVER:/PATH or none (emptyDir)")->capture_default_str();
  r->add_option("--storage-size", o.storage_size, "PVC size request")->capture_default_str();
  r->add_option("--mode", o.mode, "async, sync or ssp:K")->capture_default_str();
  r->add_option("--format", o.format, "jobs (plain Indexed Jobs) or tfjob (Kubeflow training operator)")->capture_default_str();
  r->add_option("--port", o.port, "Training (zmq) port of every pod")->capture_default_str();
  r->add_option("--metrics-port", o.metrics_port, "HTTP port for /metrics, /healthz, /readyz")->capture_default_str();
  r->add_option("--cluster-domain", o.cluster_domain, "The cluster's DNS domain")->capture_default_str();
  r->add_option("--pull-policy", o.image_pull_policy, "Always, IfNotPresent or Never")->capture_default_str();
  r->add_option("--fetch", o.fetch_dataset, "mnist or fashion-mnist: an init container downloads it into the volume");
  r->add_option("--keys", f->keys_dir, "Directory of CURVE keys to put in a Secret (turns security on in the pods)")->check(non_empty_path());
  r->add_option("--cpu", o.cpu_request, "CPU request per pod")->capture_default_str();
  r->add_option("--cpu-limit", o.cpu_limit, "CPU limit per pod")->capture_default_str();
  r->add_option("--memory", o.memory_request, "Memory request per pod")->capture_default_str();
  r->add_option("--memory-limit", o.memory_limit, "Memory limit per pod")->capture_default_str();
  r->add_option("--deadline-s", o.active_deadline_s, "activeDeadlineSeconds of each Job")->capture_default_str();
  r->add_option("--ttl-s", o.ttl_after_finished_s, "ttlSecondsAfterFinished: delete finished Jobs after this long")->capture_default_str();
  r->add_option("--retries", o.backoff_limit_per_index, "Retries per task for infrastructure failures (backoffLimitPerIndex)")->capture_default_str();
  r->add_option("--dns-timeout-s", o.peer_dns_timeout_s, "How long a pod waits for its peers' DNS names")->capture_default_str();
  r->add_option("--checkpoint-secs", o.checkpoint_secs,
                "The chief checkpoints the ps state this often into /data/runs/NAME/checkpoints; a replacement ps restores it (0: off)")
      ->capture_default_str();
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
}

void add_render_command(CLI::App& k8s, int& exit_code) {
  auto f = std::make_shared<K8sRenderFlags>();
  CLI::App* r = k8s.add_subcommand("render", "Print (or write with -o) the manifests for a ps/worker run");
  add_render_flags(r, f);
  r->add_option("-o,--output-dir", f->out_dir, "Write one YAML file per object into DIR instead of printing");
  r->add_flag("--json", f->json, "Print the objects as one JSON array instead of YAML");
  r->callback([f, &exit_code] { exit_code = run_render(*f); });
}

// kubectl's exit code as podlab's: it could not reach or convince the cluster.
Status kubectl_failed(const std::string& what, int code) {
  return Status::Network(what + ": kubectl exited with code " + std::to_string(code) +
                         " (its message is above; check `kubectl config current-context` and your access)");
}

int run_apply(K8sRenderFlags& f, bool server_dry_run) {
  auto docs = render_from_flags(f);
  if (!docs.ok()) return report(docs.status());
  auto yaml = k8s_yaml_stream(*docs);
  if (!yaml.ok()) return report(yaml.status());
  std::vector<std::string> args = {"apply", "-f", "-"};
  if (server_dry_run) args.push_back("--dry-run=server");
  auto r = run_kubectl(args, *yaml, false);
  if (!r.ok()) return report(r.status());
  if (r->exit_code != 0) return report(kubectl_failed("kubectl apply", r->exit_code));
  std::printf("podlab: run %s applied; follow it with: podlab k8s status %s --namespace %s\n", f.o.name.c_str(), f.o.name.c_str(),
              f.o.ns.c_str());
  return 0;
}

struct K8sRunFlags {
  std::string name, ns = "default", role, format = "jobs";
  int index = -1, metrics_port = 9090;
  bool follow = false, with_data = false, no_metrics = false, watch = false;
  double interval_s = 5;
  std::string selector() const {
    std::string s = "podlab.io/job=" + name;
    if (!role.empty()) s += ",podlab.io/role=" + role;
    // Indexed Jobs label their pods with the index; the training operator with its replica index.
    if (index >= 0)
      s += std::string(format == "tfjob" ? ",training.kubeflow.org/replica-index=" : ",batch.kubernetes.io/job-completion-index=") +
           std::to_string(index);
    return s;
  }
};

Status check_run_name(const K8sRunFlags& f) {
  if (!is_dns1035_label(f.name)) return Status::Usage("bad run name \"" + f.name + "\" (the --name it was rendered with)");
  if (!is_dns1123_label(f.ns)) return Status::Usage("bad --namespace \"" + f.ns + "\"");
  return Status::Ok();
}

// One look at the run: prints the table and says whether it is over (k8s_run_outcome); errors as
// exit codes in `*code`.
bool status_once(const K8sRunFlags& f, K8sRunOutcome* outcome, int* code) {
  *code = 0;
  auto jobs_json = run_kubectl({"get", "jobs", "-n", f.ns, "-l", f.selector(), "-o", "json", "--request-timeout=30s"}, "", true);
  auto fail = [&](const Status& st) {
    *code = report(st);
    return false;
  };
  if (!jobs_json.ok()) return fail(jobs_json.status());
  if (jobs_json->exit_code != 0) return fail(kubectl_failed("kubectl get jobs", jobs_json->exit_code));
  auto pods_json = run_kubectl({"get", "pods", "-n", f.ns, "-l", f.selector(), "-o", "json", "--request-timeout=30s"}, "", true);
  if (!pods_json.ok()) return fail(pods_json.status());
  if (pods_json->exit_code != 0) return fail(kubectl_failed("kubectl get pods", pods_json->exit_code));
  auto jobs = parse_k8s_jobs(jobs_json->out);
  if (!jobs.ok()) return fail(jobs.status());
  auto pods = parse_k8s_pods(pods_json->out);
  if (!pods.ok()) return fail(pods.status());
  std::vector<K8sTaskProgress> progress(pods->size());
  for (size_t i = 0; i < pods->size() && !f.no_metrics; ++i) {
    if ((*pods)[i].phase != "Running") continue;
    // Through the API server's pod proxy: no port-forward, no tool in the image.
    const std::string path = "/api/v1/namespaces/" + f.ns + "/pods/" + (*pods)[i].name + ":" + std::to_string(f.metrics_port) + "/proxy/metrics";
    auto m = run_kubectl({"get", "--raw", path, "--request-timeout=5s"}, "", true);
    if (m.ok() && m->exit_code == 0) progress[i] = parse_task_metrics(m->out);
  }
  const std::time_t now = std::time(nullptr);
  char at[16];
  std::strftime(at, sizeof at, "%H:%M:%S", std::localtime(&now));
  std::printf("run %s in namespace %s at %s\n%s", f.name.c_str(), f.ns.c_str(), at, k8s_status_table(*jobs, *pods, progress).c_str());
  if (jobs->empty()) std::printf("(no Jobs labelled podlab.io/job=%s: not applied yet, or deleted)\n", f.name.c_str());
  *outcome = k8s_run_outcome(*jobs, *pods);
  std::fflush(stdout);
  return true;
}

// `podlab k8s status NAME`: one table; with --watch, a new one every --interval-s (redrawn in place on
// a terminal) until the run is over, then exits with its outcome's code (k8s_run_outcome).
int run_status(const K8sRunFlags& f) {
  if (Status st = check_run_name(f); !st.ok()) return report(st);
  const bool redraw = f.watch && stdout_is_terminal();
  for (;;) {
    if (redraw) std::printf("\033[H\033[2J");  // home, clear: as watch(1) does
    K8sRunOutcome outcome;
    int code = 0;
    if (!status_once(f, &outcome, &code)) return code;
    if (!f.watch) return 0;
    if (outcome.over) {
      std::printf("podlab: run %s is over: %s\n", f.name.c_str(), outcome.why.c_str());
      return outcome.code;
    }
    if (!redraw) std::printf("\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(f.interval_s * 1000)));
  }
}

int run_logs(const K8sRunFlags& f) {
  if (Status st = check_run_name(f); !st.ok()) return report(st);
  std::vector<std::string> args = {"logs", "-n", f.ns, "-l", f.selector(), "--prefix", "--tail=-1", "--max-log-requests=64",
                                   "--container=" + std::string(f.format == "tfjob" ? kK8sTfContainer : kK8sContainer)};
  if (f.follow) args.push_back("--follow");
  auto r = run_kubectl(args, "", false);
  if (!r.ok()) return report(r.status());
  if (r->exit_code != 0) return report(kubectl_failed("kubectl logs", r->exit_code));
  return 0;
}

int run_delete(const K8sRunFlags& f) {
  if (Status st = check_run_name(f); !st.ok()) return report(st);
  std::string kinds = f.format == "tfjob" ? "tfjobs.kubeflow.org" : "jobs,services";
  kinds += ",configmaps,secrets,networkpolicies";
  if (f.with_data) kinds += ",persistentvolumeclaims";
  auto r = run_kubectl({"delete", kinds, "-n", f.ns, "-l", "podlab.io/job=" + f.name, "--ignore-not-found", "--cascade=foreground",
                        "--request-timeout=60s"},
                       "", false);
  if (!r.ok()) return report(r.status());
  if (r->exit_code != 0) return report(kubectl_failed("kubectl delete", r->exit_code));
  if (!f.with_data)
    std::printf("podlab: kept the PersistentVolumeClaim %s-data (checkpoints, logs); --with-data deletes it too\n", f.name.c_str());
  return 0;
}

CLI::App* add_run_command(CLI::App& k8s, const char* name, const char* help, const std::shared_ptr<K8sRunFlags>& f) {
  CLI::App* c = k8s.add_subcommand(name, help);
  c->add_option("name", f->name, "The run's --name")->required();
  c->add_option("-n,--namespace", f->ns, "Kubernetes namespace")->capture_default_str();
  return c;
}

}  // namespace

void add_k8s_commands(CLI::App& root, int& exit_code) {
  CLI::App* k8s = root.add_subcommand("k8s", "Run the ps/worker cluster on Kubernetes: render manifests, manage a run");
  k8s->require_subcommand(1);
  add_render_command(*k8s, exit_code);

  auto af = std::make_shared<K8sRenderFlags>();
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* apply = k8s->add_subcommand("apply", "Render (same flags as render) and kubectl apply the run");
  add_render_flags(apply, af);
  apply->add_flag("--server-dry-run", *dry_run, "Let the API server validate everything without creating anything");
  apply->callback([af, dry_run, &exit_code] { exit_code = run_apply(*af, *dry_run); });

  auto sf = std::make_shared<K8sRunFlags>();
  CLI::App* status = add_run_command(*k8s, "status", "Each Job's state, each pod's phase, and training progress from /metrics", sf);
  status->add_option("--metrics-port", sf->metrics_port, "The pods' metrics port")->capture_default_str();
  status->add_flag("--no-metrics", sf->no_metrics, "Do not query the pods' /metrics");
  status->add_flag("-w,--watch", sf->watch,
                   "Look again every --interval-s until the run is over, then exit 0 (every Job complete) or with "
                   "the failed chief's exit code (2..6, else 1)");
  status->add_option("--interval-s", sf->interval_s, "Seconds between looks with --watch")->capture_default_str()->check(CLI::Range(0.2, 3600.0));
  status->callback([sf, &exit_code] { exit_code = run_status(*sf); });

  auto lf = std::make_shared<K8sRunFlags>();
  CLI::App* logs = add_run_command(*k8s, "logs", "The run's pod logs (kubectl logs), each line prefixed with its pod", lf);
  logs->add_option("--role", lf->role, "Only ps or worker pods")->check(CLI::IsMember({"ps", "worker"}));
  logs->add_option("--index", lf->index, "Only the task with this index (with --role)")->check(non_negative());
  logs->add_option("--format", lf->format, "jobs or tfjob (as rendered)")->capture_default_str()->check(CLI::IsMember({"jobs", "tfjob"}));
  logs->add_flag("-f,--follow", lf->follow, "Keep streaming");
  logs->callback([lf, &exit_code] { exit_code = run_logs(*lf); });

  auto df = std::make_shared<K8sRunFlags>();
  CLI::App* del = add_run_command(*k8s, "delete", "Delete the run's objects (the data volume only with --with-data)", df);
  del->add_option("--format", df->format, "jobs or tfjob (as rendered)")->capture_default_str()->check(CLI::IsMember({"jobs", "tfjob"}));
  del->add_flag("--with-data", df->with_data, "Also delete the PersistentVolumeClaim (checkpoints, logs, datasets)");
  del->callback([df, &exit_code] { exit_code = run_delete(*df); });
}

}  // namespace podlab
