// Prometheus text for one task (see task_metrics.h). Format: https://prometheus.io/docs/instrumenting/exposition_formats/
#include "cluster/task_metrics.h"

#include <cstdio>

namespace podlab {
namespace {

void metric(std::string* out, const char* name, const char* type, const char* help, const std::string& labels, double value) {
  char num[64];
  std::snprintf(num, sizeof num, "%.17g", value);
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + "{" + labels + "} " + num + "\n";
}

}  // namespace

TaskMetrics::TaskMetrics(const TaskId& self) : self_(self), board_({self}) {}

void TaskMetrics::set_phase(const std::string& phase) {
  std::lock_guard<std::mutex> lock(mu_);
  phase_ = phase;
}

std::string TaskMetrics::phase() const {
  std::lock_guard<std::mutex> lock(mu_);
  return phase_;
}

void TaskMetrics::record_epoch(const ClusterEpochReport& e) {
  std::lock_guard<std::mutex> lock(mu_);
  epochs_ = e.epoch;
  test_accuracy_ = e.test.accuracy;
  test_loss_ = e.test.loss;
}

std::string TaskMetrics::prometheus_text() const {
  const std::vector<TaskProgress> p = board_.snapshot();
  const TaskProgress t = p.empty() ? TaskProgress{} : p[0];
  std::string phase;
  int epochs = 0;
  double accuracy = -1, loss = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    phase = phase_;
    epochs = epochs_;
    accuracy = test_accuracy_;
    loss = test_loss_;
  }
  const bool ps = self_.role == Role::kPs;
  const std::string l = "task=\"" + self_.name() + "\"";
  std::string out;
  metric(&out, "podlab_task_info", "gauge", "The task this process runs and its phase (starting, resolving-peers, loading, training, done, failed).",
         l + ",role=\"" + role_name(self_.role) + "\",index=\"" + std::to_string(self_.index) + "\",phase=\"" + phase + "\"", 1);
  metric(&out, "podlab_ready", "gauge", "1 once the task has joined the cluster.", l, ready_ ? 1 : 0);
  metric(&out, "podlab_done", "gauge", "1 once the task has finished training.", l, t.done ? 1 : 0);
  metric(&out, "podlab_step", "gauge", ps ? "Updates applied to this ps shard." : "Global step of the parameters this worker last pulled.", l,
         static_cast<double>(t.step));
  metric(&out, "podlab_total_steps", "gauge", "Global steps the run will take.", l, static_cast<double>(total_steps_.load()));
  metric(&out, "podlab_pushes_total", "counter", ps ? "Gradients received." : "Gradients sent.", l, static_cast<double>(t.pushes));
  metric(&out, "podlab_applied_total", "counter", ps ? "Gradients applied." : "Samples computed.", l, static_cast<double>(t.applied));
  metric(&out, "podlab_dropped_total", "counter", ps ? "Stale gradients dropped." : "Requests re-sent.", l, static_cast<double>(t.dropped));
  if (!ps) metric(&out, "podlab_train_loss", "gauge", "Mean training loss since the last report.", l, t.loss);
  if (!ps && self_.index == 0) {
    metric(&out, "podlab_epochs_completed", "gauge", "Epochs completed (chief).", l, epochs);
    if (accuracy >= 0) metric(&out, "podlab_test_accuracy", "gauge", "Test accuracy at the last epoch (chief).", l, accuracy);
    if (loss >= 0) metric(&out, "podlab_test_loss", "gauge", "Test loss at the last epoch (chief).", l, loss);
  }
  metric(&out, "podlab_uptime_seconds", "gauge", "Seconds since the task started.", l,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  return out;
}

}  // namespace podlab
