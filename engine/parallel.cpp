// ThreadPool: workers wait for a new generation number; run() publishes the task, bumps it, runs part
// 0 itself and waits for `pending_` to reach zero. Every worker counts down `pending_`, also those
// without a part in this run, so no worker can still be reading task_ when the next run() writes it.
//
// A data-parallel MLP step takes 300-400 us, so hand-over latency counts. On this project's (virtual)
// build machine a futex wake-up costs 20-40 us before the woken thread runs, and the notify itself
// some 20 us on the waking thread; a pause instruction costs 12-50 ns. So waiting threads spin (pause,
// bounded by wall time, kSpinBudget) before they block on a condition variable, and a thread notifies
// only when someone actually sleeps: back-to-back steps then hand over in well under a microsecond,
// while an idle pool still stops burning a core after kSpinBudget. The budget is short because on a
// machine shared with other programs a thread that spins long loses the scheduler's favour (it never
// sleeps, so it is not preferred on wake-up) and whole steps then wait for other programs' time slices.
#include "engine/parallel.h"

#include <cassert>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSpinBudget = std::chrono::microseconds(200);
constexpr int kPausesPerClockCheck = 64;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or until kSpinBudget has passed; returns done().
template <class Done>
bool spin_until(const Done& done) {
  if (done()) return true;
  const auto deadline = Clock::now() + kSpinBudget;
  while (true) {
    for (int i = 0; i < kPausesPerClockCheck; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);  // so spinning workers see it too
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(int n, TaskRef fn) {
  assert(n >= 1 && n <= size());
  if (n == 1) {
    task_n_ = 1;  // for barrier(); no worker reads it now, all acknowledged the last run
    fn(0);
    return;
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &fn;
    task_n_ = n;
    pending_.store(size() - 1, std::memory_order_relaxed);  // every worker acknowledges, even idle ones
    generation_.fetch_add(1, std::memory_order_release);
    wake = sleepers_.load(std::memory_order_relaxed) > 0;  // sleepers_ changes only under mu_
  }
  if (wake) start_cv_.notify_all();
  fn(0);
  if (spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) return;
  std::unique_lock<std::mutex> lock(mu_);
  // Dekker pair with worker_loop: store caller_asleep_ then load pending_ here, decrement pending_
  // then load caller_asleep_ there, all seq_cst, so at least one side sees the other's write.
  caller_asleep_.store(true);
  done_cv_.wait(lock, [this] { return pending_.load() == 0; });
  caller_asleep_.store(false);
}

void ThreadPool::barrier() {
  const long round = barrier_round_.load(std::memory_order_acquire);
  if (barrier_count_.fetch_add(1, std::memory_order_acq_rel) + 1 == task_n_) {
    barrier_count_.store(0, std::memory_order_relaxed);
    // Dekker pair with the waiters below (seq_cst): bump the round, then look for sleepers.
    barrier_round_.fetch_add(1);
    if (barrier_sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      barrier_cv_.notify_all();
    }
    return;
  }
  const auto passed = [&] { return barrier_round_.load() != round; };
  if (spin_until(passed)) return;
  std::unique_lock<std::mutex> lock(mu_);
  barrier_sleepers_.fetch_add(1);
  barrier_cv_.wait(lock, passed);
  barrier_sleepers_.fetch_sub(1);
}

void ThreadPool::worker_loop(int index) {
  long seen = 0;
  while (true) {
    const auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published)) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1, std::memory_order_relaxed);
      start_cv_.wait(lock, published);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    // The acquire load that saw the new generation makes task_, task_n_ and stop_ visible.
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    if (index < task_n_) (*task_)(index);
    if (pending_.fetch_sub(1) == 1 && caller_asleep_.load()) {
      std::lock_guard<std::mutex> lock(mu_);  // run() holds mu_ from setting the flag until it waits
      done_cv_.notify_one();
    }
  }
}

}  // namespace podlab
