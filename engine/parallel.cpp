// ThreadPool: workers wait for a new generation number; run() publishes the task, bumps it, runs part
// 0 itself and waits for `pending_` to reach zero.
//
// A data-parallel step hands work over twice (forward/backward, then the gradient sum), so the
// hand-over latency counts: a futex wake costs some 4 us of a step of 400-500 us, far more when the
// machine is busy. Both sides therefore spin briefly (bounded, with a pause instruction) before they
// block on a condition variable, which keeps an idle pool from burning a core.
#include "engine/parallel.h"

#include <cassert>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace podlab {
namespace {

constexpr int kSpins = 4000;  // pause iterations before blocking (~0.1-0.3 ms)

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(int n, TaskRef fn) {
  assert(n >= 1 && n <= size());
  if (n == 1) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &fn;
    task_n_ = n;
    pending_.store(n - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  fn(0);
  for (int i = 0; i < kSpins && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

void ThreadPool::worker_loop(int index) {
  long seen = 0;
  while (true) {
    for (int i = 0; i < kSpins && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
    const TaskRef* task = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      if (index < task_n_) task = task_;
    }
    if (!task) continue;
    (*task)(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);  // so run() cannot miss the notification between check and wait
      done_cv_.notify_one();
    }
  }
}

}  // namespace podlab
