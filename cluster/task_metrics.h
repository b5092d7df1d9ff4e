// The live state of one task process (phase, readiness, progress, the chief's epochs) and its
// Prometheus text exposition, served over HTTP by task_http.h. The ps/worker publish progress through
// the ProgressBoard this owns (Context::board), so nothing in the training loop knows about HTTP.
// Thread-safe: the training threads write, the HTTP threads read.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "cluster/context.h"

namespace podlab {

class TaskMetrics {
 public:
  explicit TaskMetrics(const TaskId& self);

  ProgressBoard* board() { return &board_; }
  const TaskId& self() const { return self_; }
  // starting | resolving-peers | loading | training | done | failed
  void set_phase(const std::string& phase);
  std::string phase() const;
  void set_ready(bool ready) { ready_ = ready; }
  bool ready() const { return ready_; }
  void set_total_steps(int64_t steps) { total_steps_ = steps; }
  void record_epoch(const ClusterEpochReport& e);

  // Prometheus text format 0.0.4: podlab_* gauges and counters, each labelled task="ps:0".
  std::string prometheus_text() const;

 private:
  const TaskId self_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  ProgressBoard board_;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> total_steps_{0};
  mutable std::mutex mu_;
  std::string phase_ = "starting";  // guarded by mu_
  int epochs_ = 0;                  // guarded by mu_
  double test_accuracy_ = -1, test_loss_ = -1;  // guarded by mu_; -1: no evaluation yet
};

// The chief's observer: records each epoch into `metrics`, forwards everything to `next` (may be null).
class MetricsObserver : public ChiefObserver {
 public:
  MetricsObserver(TaskMetrics* metrics, ChiefObserver* next) : metrics_(metrics), next_(next) {}
  void on_epoch(const ClusterEpochReport& e) override {
    metrics_->record_epoch(e);
    if (next_) next_->on_epoch(e);
  }
  bool should_stop() override { return next_ && next_->should_stop(); }
  bool should_leave() override { return next_ && next_->should_leave(); }
  void on_checkpoint(const std::string& path, int64_t step) override {
    if (next_) next_->on_checkpoint(path, step);
  }

 private:
  TaskMetrics* metrics_;
  ChiefObserver* next_;
};

}  // namespace podlab
