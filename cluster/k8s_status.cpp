// Parsing kubectl's JSON and the pods' metrics for `podlab k8s status` (see k8s_status.h).
#include "cluster/k8s_status.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

namespace podlab {
namespace {

using json = nlohmann::json;

std::string str_at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return "";
    cur = &(*cur)[k];
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_number_integer()) return std::to_string(cur->get<int64_t>());
  return "";
}

int int_at(const json& j, std::initializer_list<const char*> path) {
  const std::string s = str_at(j, path);
  return s.empty() ? 0 : std::atoi(s.c_str());
}

Result<json> parse_list(const std::string& text, const char* what) {
  try {
    json j = json::parse(text);
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
      return Status::Data(std::string("kubectl's answer for ") + what + " is not a list of objects");
    return j;
  } catch (const json::exception& e) {
    return Status::Data(std::string("kubectl's answer for ") + what + " is not JSON: " + e.what());
  }
}

std::string fixed(double v, const char* fmt) {
  if (v < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

}  // namespace

Result<std::vector<K8sPodRow>> parse_k8s_pods(const std::string& text) {
  auto list = parse_list(text, "pods");
  if (!list.ok()) return list.status();
  std::vector<K8sPodRow> rows;
  try {
    for (const json& p : (*list)["items"]) {
      K8sPodRow r;
      r.name = str_at(p, {"metadata", "name"});
      r.role = str_at(p, {"metadata", "labels", "podlab.io/role"});
      r.index = str_at(p, {"metadata", "labels", "batch.kubernetes.io/job-completion-index"});
      if (r.index.empty()) r.index = str_at(p, {"metadata", "labels", "training.kubeflow.org/replica-index"});
      r.phase = str_at(p, {"status", "phase"});
      if (p.contains("status") && p["status"].contains("containerStatuses"))
        for (const json& c : p["status"]["containerStatuses"]) {
          r.restarts += int_at(c, {"restartCount"});
          if (c.contains("state") && c["state"].contains("terminated")) {
            r.exit_code = str_at(c, {"state", "terminated", "exitCode"});
            r.reason = str_at(c, {"state", "terminated", "reason"});
          } else if (c.contains("state") && c["state"].contains("waiting")) {
            r.reason = str_at(c, {"state", "waiting", "reason"});
          }
        }
      rows.push_back(r);
    }
  } catch (const json::exception& e) {
    return Status::Data(std::string("unexpected pod JSON from kubectl: ") + e.what());
  }
  return rows;
}

Result<std::vector<K8sJobRow>> parse_k8s_jobs(const std::string& text) {
  auto list = parse_list(text, "jobs");
  if (!list.ok()) return list.status();
  std::vector<K8sJobRow> rows;
  try {
    for (const json& j : (*list)["items"]) {
      K8sJobRow r;
      r.name = str_at(j, {"metadata", "name"});
      r.completions = int_at(j, {"spec", "completions"});
      r.active = int_at(j, {"status", "active"});
      r.succeeded = int_at(j, {"status", "succeeded"});
      r.failed = int_at(j, {"status", "failed"});
      r.state = "Running";
      if (j.contains("status") && j["status"].contains("conditions"))
        for (const json& c : j["status"]["conditions"]) {
          const std::string type = str_at(c, {"type"});
          if (str_at(c, {"status"}) != "True") continue;
          if (type == "Complete" || type == "Failed" || type == "Suspended") {
            r.state = type;
            r.detail = str_at(c, {"reason"});
            const std::string msg = str_at(c, {"message"});
            if (!msg.empty()) r.detail += (r.detail.empty() ? "" : ": ") + msg;
          }
        }
      rows.push_back(r);
    }
  } catch (const json::exception& e) {
    return Status::Data(std::string("unexpected job JSON from kubectl: ") + e.what());
  }
  return rows;
}

K8sTaskProgress parse_task_metrics(const std::string& text) {
  K8sTaskProgress p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t brace = line.find('{'), close = line.find('}'), space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, brace == std::string::npos ? space : brace);
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (name == "podlab_step") p.step = value;
    else if (name == "podlab_total_steps") p.total_steps = value;
    else if (name == "podlab_train_loss") p.train_loss = value;
    else if (name == "podlab_test_accuracy") p.test_accuracy = value;
    else if (name == "podlab_epochs_completed") p.epochs = value;
    else if (name == "podlab_task_info" && brace != std::string::npos && close != std::string::npos) {
      const std::string labels = line.substr(brace, close - brace);
      const size_t at = labels.find("phase=\"");
      if (at != std::string::npos) p.task_phase = labels.substr(at + 7, labels.find('"', at + 7) - at - 7);
    }
  }
  return p;
}

std::string k8s_status_table(const std::vector<K8sJobRow>& jobs, const std::vector<K8sPodRow>& pods,
                             const std::vector<K8sTaskProgress>& progress) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-28s %-10s %8s %9s %6s  %s\n", "JOB", "STATE", "ACTIVE", "SUCCEEDED", "FAILED", "DETAIL");
  out += line;
  for (const K8sJobRow& j : jobs) {
    std::snprintf(line, sizeof line, "%-28s %-10s %8d %5d/%-3d %6d  %s\n", j.name.c_str(), j.state.c_str(), j.active, j.succeeded,
                  j.completions, j.failed, j.detail.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "\n%-34s %-6s %-5s %-10s %-8s %-5s %-16s %-13s %-7s %s\n", "POD", "ROLE", "INDEX", "PHASE",
                "RESTARTS", "EXIT", "TASK", "STEP", "LOSS", "TEST ACC");
  out += line;
  for (size_t i = 0; i < pods.size(); ++i) {
    const K8sPodRow& p = pods[i];
    const K8sTaskProgress q = i < progress.size() ? progress[i] : K8sTaskProgress{};
    const std::string step = q.step < 0 ? "-" : fixed(q.step, "%.0f") + "/" + fixed(q.total_steps, "%.0f");
    const std::string task = q.task_phase.empty() ? (p.reason.empty() ? "-" : p.reason) : q.task_phase;
    std::snprintf(line, sizeof line, "%-34s %-6s %-5s %-10s %-8d %-5s %-16s %-13s %-7s %s\n", p.name.c_str(),
                  p.role.empty() ? "-" : p.role.c_str(), p.index.empty() ? "-" : p.index.c_str(), p.phase.c_str(), p.restarts,
                  p.exit_code.empty() ? "-" : p.exit_code.c_str(), task.c_str(), step.c_str(), fixed(q.train_loss, "%.4f").c_str(),
                  fixed(q.test_accuracy, "%.4f").c_str());
    out += line;
  }
  if (pods.empty()) out += "(no pods)\n";
  return out;
}

K8sRunOutcome k8s_run_outcome(const std::vector<K8sJobRow>& jobs, const std::vector<K8sPodRow>& pods) {
  K8sRunOutcome o;
  if (jobs.empty()) return o;
  const K8sJobRow* failed = nullptr;
  bool all_complete = true;
  for (const K8sJobRow& j : jobs) {
    if (j.state == "Failed" && !failed) failed = &j;
    all_complete &= j.state == "Complete";
  }
  if (!failed) {
    if (all_complete) o = {true, 0, "every Job completed (exit 0)"};
    return o;
  }
  o.over = true;
  o.code = 1;
  o.why = "Job " + failed->name + " failed" + (failed->detail.empty() ? "" : " (" + failed->detail + ")");
  auto podlab_code = [](const K8sPodRow& p) {
    const int c = p.exit_code.empty() ? -1 : std::atoi(p.exit_code.c_str());
    return c >= 2 && c <= 6 ? c : -1;
  };
  const K8sPodRow* source = nullptr;
  for (const K8sPodRow& p : pods)
    if (p.role == "worker" && p.index == "0" && podlab_code(p) > 0) source = &p;
  for (size_t i = 0; i < pods.size() && !source; ++i)
    if (podlab_code(pods[i]) > 0) source = &pods[i];
  if (source) {
    o.code = podlab_code(*source);
    o.why += "; exit " + source->exit_code + " from pod " + source->name;
  } else {
    o.why += "; no pod shows a podlab exit code 2..6 (exit 1)";
  }
  return o;
}

}  // namespace podlab
