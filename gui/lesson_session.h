// The lesson panel's runner: one lesson, its steps run one at a time on a worker thread with the
// lessons runner (lessons/runner.h: each step is the podlab binary as a child process in its own
// process group, in a working directory the lesson's steps share). The UI thread starts and stops
// runs and copies views; it never waits for a step. Stopping or destroying the session stops the
// running step's process group and joins the thread, so no process is left behind.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/status.h"
#include "lessons/lesson.h"
#include "lessons/prose.h"

namespace podlab::gui {

struct CheckView {
  std::string text;    // the assertion as written
  std::string note;    // its '#' note
  bool passed = false;
  std::string detail;  // "test_accuracy = 0.8427", or why it could not be evaluated
};

struct StepView {
  enum class State { kIdle, kQueued, kRunning, kDone };
  State state = State::kIdle;
  double seconds = 0;               // so far while running, the total once done
  std::vector<std::string> output;  // what the step printed, for people (epoch lines from JSON), last 200 lines
  int exit_code = -1;
  std::string error;                // why it did not finish ("" when it did)
  std::string stderr_tail;          // the last lines of stderr when the step failed
  std::vector<CheckView> checks;
  bool fast = false;                // the mode it ran in
};

class LessonSession {
 public:
  // `podlab_binary` "" = this process's own executable; `data_dir` is passed to steps as PODLAB_DATA.
  explicit LessonSession(std::string podlab_binary = "", std::string data_dir = "");
  ~LessonSession();
  LessonSession(const LessonSession&) = delete;
  LessonSession& operator=(const LessonSession&) = delete;

  // Stops any running step, then loads `path` (a fresh working directory). On error the previous
  // lesson stays.
  Status load(const std::string& path);
  void close();  // stops any running step and forgets the lesson
  // The loaded lesson (nullptr when none); valid until the next load() or close(). UI thread only.
  const Lesson* lesson() const { return lesson_.get(); }
  // Each step's prose as blocks, parsed once at load; [steps.size()] is the closing prose.
  const std::vector<std::vector<ProseBlock>>& prose() const { return prose_; }
  // Why the lesson's steps cannot run here (its dataset is missing), or "".
  const std::string& blocked() const { return blocked_; }
  const std::string& work_dir() const { return work_dir_; }

  // Runs steps [first, last] in order, skipping GUI set-ups; false when a run is in progress or the
  // range is empty.
  bool run(int first, int last, bool fast);
  void stop();  // stops the running step and the queue; returns at once
  bool busy() const { return busy_.load(); }
  int running_step() const;  // -1 when none
  std::vector<StepView> view() const;

 private:
  void join();
  void work(int first, int last, bool fast);
  std::string binary_, data_dir_;
  std::unique_ptr<Lesson> lesson_;
  std::vector<std::vector<ProseBlock>> prose_;
  std::string blocked_, work_dir_;
  std::thread worker_;
  std::atomic<bool> busy_{false}, cancel_{false};
  mutable std::mutex mu_;
  std::vector<StepView> steps_;  // guarded by mu_
  int running_ = -1;             // guarded by mu_
  double running_since_ = 0;     // guarded by mu_ (steady clock seconds)
};

}  // namespace podlab::gui
