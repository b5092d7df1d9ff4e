// The try-lock exchange between the training thread and the UI.
#include "gui/snapshot.h"

namespace podlab::gui {

bool SnapshotExchange::publish(const TrainingStatus& status, Series series, const MetricPoint* points, int n) {
  adopt_generation(status.generation);
  if (n > 0) {
    auto& p = pending_[static_cast<int>(series)];
    p.insert(p.end(), points, points + n);
  }
  ++attempts_;
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    ++misses_;
    return false;
  }
  commit_locked(status);
  return true;
}

void SnapshotExchange::adopt_generation(uint64_t generation) {
  if (generation == pending_generation_) return;
  for (auto& p : pending_) p.clear();
  pending_generation_ = generation;
}

void SnapshotExchange::flush(const TrainingStatus& status) {
  adopt_generation(status.generation);
  std::lock_guard<std::mutex> lock(mu_);
  ++attempts_;
  commit_locked(status);
}

void SnapshotExchange::commit_locked(const TrainingStatus& status) {
  if (status.generation != status_.generation)
    for (auto& s : shared_) s.clear();
  status_ = status;
  for (int k = 0; k < kSeriesCount; ++k) {
    shared_[k].insert(shared_[k].end(), pending_[k].begin(), pending_[k].end());
    pending_[k].clear();
  }
  ++publishes_;
}

void SnapshotExchange::read(View& view) {
  std::lock_guard<std::mutex> lock(mu_);
  if (view.status.generation != status_.generation)
    for (auto& s : view.series) s.clear();
  view.status = status_;
  for (int k = 0; k < kSeriesCount; ++k) {
    view.series[k].insert(view.series[k].end(), shared_[k].begin(), shared_[k].end());
    shared_[k].clear();
  }
  view.publishes = publishes_;
}

void SnapshotExchange::hold_lock_for_test(const std::function<void()>& f) {
  std::lock_guard<std::mutex> lock(mu_);
  f();
}

uint64_t SnapshotExchange::publish_attempts() const { return attempts_; }
uint64_t SnapshotExchange::publish_misses() const { return misses_; }

}  // namespace podlab::gui
