// Training on its own thread for the GUI. The UI thread sends commands (reset, play/pause, single
// step, speed limit) that return at once; the training thread runs engine's run_training() with a
// LoopObserver that publishes to a SnapshotExchange (metric points up to ~30 per second, a test
// evaluation about once a second, a weights copy a few times per second) and that waits inside
// should_stop() while paused or speed-limited. Nothing the UI does makes a step wait, and nothing the
// trainer does makes a frame wait.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gui/setup_file.h"
#include "gui/snapshot.h"

namespace podlab::gui {

struct SessionOptions {
  std::string data_dir;                         // --data: searched first for the dataset
  std::shared_ptr<const Dataset> fixed_data;    // tests: use this instead of loading by name
  int eval_samples = 1000;                      // test samples per live evaluation
  double eval_every_s = 0.5;                    // seconds between evaluations (at least 10x their cost)
  double weights_every_s = 0.5;                 // seconds between weight copies
  double point_every_s = 1.0 / 30;              // seconds between train-metric points
  int threads = 1;                              // compute threads (1 leaves a core for the UI)
};

class TrainingSession {
 public:
  TrainingSession(SnapshotExchange& out, SessionOptions options);
  ~TrainingSession();  // stops training at the next step and joins the thread
  TrainingSession(const TrainingSession&) = delete;
  TrainingSession& operator=(const TrainingSession&) = delete;

  // Rebuilds model and optimiser from `setup` (loading another dataset if it changed) and pauses.
  void reset(const GuiSetup& setup);
  void set_running(bool running);
  bool running() const;
  void step_once();                       // when paused: one optimiser step
  void set_speed_limit(double steps_per_s);  // 0: as fast as possible

 private:
  class Observer;
  void thread_main();
  void rebuild(const GuiSetup& setup);

  SnapshotExchange& out_;
  const SessionOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_:
  bool quit_ = false, reset_pending_ = false, running_ = false;
  int steps_requested_ = 0;
  double speed_limit_ = 0;
  GuiSetup pending_setup_;
  // Training thread only:
  std::shared_ptr<const Dataset> data_;
  std::string data_key_;
  struct Model;
  std::unique_ptr<Model> model_;
  uint64_t generation_ = 0;
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace podlab::gui
