// What the training thread publishes and the UI thread reads. The trainer never waits for the UI:
// publish() only try-locks and, when the UI holds the lock, keeps the new points and retries at the
// next publish. The UI's read() holds the lock for a copy of a few scalars, the new points and a
// shared_ptr, so the trainer's try-lock fails rarely and never for long.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/params.h"

namespace podlab::gui {

enum class Series { kTrainLoss, kTrainAccuracy, kTestLoss, kTestAccuracy, kCount };
inline constexpr int kSeriesCount = static_cast<int>(Series::kCount);

struct MetricPoint {
  double step = 0;    // optimiser step
  double wall_s = 0;  // seconds of training since reset (pauses excluded)
  double value = 0;
};

// Everything but the metric history, replaced whole at each publish.
struct TrainingStatus {
  uint64_t generation = 0;     // bumped by every reset; points of older generations are dropped
  std::string phase;           // "loading", "ready", "running", "paused", "error"
  std::string error;           // set with phase "error"
  int64_t step = 0;
  int epoch = 0;
  double epoch_fraction = 0;
  double wall_s = 0;
  double samples_per_s = 0;    // over the last second of training
  double steps_per_s = 0;
  float learning_rate = 0;
  double train_loss = 0, train_accuracy = 0;  // means since the previous point
  double test_loss = 0, test_accuracy = 0;    // last evaluation (test_samples samples)
  int test_samples = 0;
  std::vector<int64_t> confusion;             // classes x classes from the last evaluation
  std::shared_ptr<const std::vector<uint8_t>> predicted;  // its predicted class per test sample 0..test_samples
  std::shared_ptr<const Dataset> data;        // immutable once published
  std::string model_spec;
  std::shared_ptr<const FloatBuffer> weights; // a copy, refreshed a few times per second
  int64_t weights_step = 0;
};

// One writer thread, any number of reader calls from one UI thread.
class SnapshotExchange {
 public:
  // Never blocks. Returns false when the reader held the lock; the points are kept and go out with
  // the next publish (or flush()).
  bool publish(const TrainingStatus& status, Series series, const MetricPoint* points, int n);
  bool publish(const TrainingStatus& status) { return publish(status, Series::kTrainLoss, nullptr, 0); }
  // Blocks only for another publish's copy; sends pending points. For the writer's last words.
  void flush(const TrainingStatus& status);

  // The reader's view: the latest status and the full history of the current generation.
  struct View {
    TrainingStatus status;
    std::vector<MetricPoint> series[kSeriesCount];
    uint64_t publishes = 0;
  };
  // Copies the status and appends points published since the last read into view.series (clearing
  // them first when the generation changed).
  void read(View& view);

  // Tests: runs f while holding the reader's lock, as a slow read() would.
  void hold_lock_for_test(const std::function<void()>& f);

  // Counters for tests and --stats.
  uint64_t publish_attempts() const;
  uint64_t publish_misses() const;

 private:
  void adopt_generation(uint64_t generation);  // writer: drops pending points of an older generation
  void commit_locked(const TrainingStatus& status);
  mutable std::mutex mu_;
  // Guarded by mu_:
  TrainingStatus status_;
  std::vector<MetricPoint> shared_[kSeriesCount];  // points not yet read
  uint64_t publishes_ = 0;
  // Writer-only (no lock needed):
  std::vector<MetricPoint> pending_[kSeriesCount];
  uint64_t pending_generation_ = 0;
  std::atomic<uint64_t> attempts_{0}, misses_{0};
};

}  // namespace podlab::gui
