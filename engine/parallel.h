// A fixed pool of compute threads for data-parallel steps. run(n, fn) calls fn(0..n-1) concurrently,
// fn(0) on the calling thread, and returns when all are done. Work is split by the caller in a fixed
// way, so results do not depend on scheduling. Not reentrant: one run() at a time per pool.
// run() itself allocates nothing: the task is passed by reference, not copied into a std::function.
// Waiting threads spin for a short while before they block, so hand-overs are fast.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace podlab {

// A non-owning reference to a callable taking the part index; the callable must outlive the call.
class TaskRef {
 public:
  template <class F>
  TaskRef(const F& f)  // NOLINT: implicit, so run(n, lambda) reads naturally
      : obj_(&f), call_([](const void* o, int i) { (*static_cast<const F*>(o))(i); }) {}
  void operator()(int i) const { call_(obj_, i); }

 private:
  const void* obj_;
  void (*call_)(const void*, int);
};

class ThreadPool {
 public:
  // `threads` >= 1 counts the calling thread; threads-1 workers are started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // n <= size(). `fn` must not throw.
  void run(int n, TaskRef fn);

 private:
  void worker_loop(int index);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  // Guarded by mu_ (written only under it; the atomics are also read without it while spinning):
  const TaskRef* task_ = nullptr;
  int task_n_ = 0;
  std::atomic<long> generation_{0};
  std::atomic<int> pending_{0};  // workers still running the current task
  bool stop_ = false;
};

}  // namespace podlab
