// A fixed pool of compute threads for data-parallel steps. run(n, fn) calls fn(0..n-1) concurrently,
// fn(0) on the calling thread, and returns when all are done. Inside such a task, barrier() waits
// until all n parts of the run have reached it, so one run can hold several phases (a training step:
// forward/backward, then the gradient sum and the optimiser update) with a single hand-over.
// Work is split by the caller in a fixed way, so results do not depend on scheduling. Not reentrant:
// one run() at a time per pool. run() and barrier() allocate nothing: the task is passed by reference,
// not copied into a std::function.
// Waiting threads spin for a while before they block, so hand-overs are fast (see parallel.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
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
  // Only from inside a task of the current run(), by every one of its n parts the same number of
  // times: returns once all n parts have called it. Writes made before it by any part are visible
  // to every part after it.
  void barrier();

 private:
  void worker_loop(int index);
  // Whether a part in [first, last) other than the calling thread's last ran on the caller's core.
  bool shares_my_core(int first, int last) const;
  struct alignas(64) CpuSlot {
    std::atomic<int> cpu{-1};
  };
  std::unique_ptr<CpuSlot[]> cpu_;  // per part: the core it ran on at its last start or barrier
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_, barrier_cv_;
  // Written under mu_ (the atomics are also read without it while spinning). Each hot atomic sits on
  // its own cache line, so a thread spinning on one does not slow down the writers of another.
  const TaskRef* task_ = nullptr;
  int task_n_ = 0;
  bool stop_ = false;
  alignas(64) std::atomic<long> generation_{0};
  alignas(64) std::atomic<int> pending_{0};   // workers yet to finish (or skip) the current task
  alignas(64) std::atomic<int> sleepers_{0};  // workers blocked on start_cv_
  alignas(64) std::atomic<bool> caller_asleep_{false};  // run() blocked on done_cv_
  alignas(64) std::atomic<int> barrier_count_{0};   // parts arrived at the current barrier
  alignas(64) std::atomic<long> barrier_round_{0};  // barriers completed in this pool's life
  alignas(64) std::atomic<int> barrier_sleepers_{0};  // parts blocked on barrier_cv_
};

}  // namespace podlab
