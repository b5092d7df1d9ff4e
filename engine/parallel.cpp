// ThreadPool: workers wait for a new generation number; run() publishes the task, bumps it, runs part
// 0 itself and waits for `pending_` to reach zero. Every worker counts down `pending_`, also those
// without a part in this run, so no worker can still be reading task_ when the next run() writes it.
//
// A data-parallel MLP step takes 300-400 us and hands over between threads up to three times, so
// hand-over latency counts. On this project's (virtual) build machine a thread woken from a futex
// wait starts 20-300 us later, and the notify itself costs some 20 us on the waking thread; a pause
// instruction costs 12-50 ns. So waiting threads spin (bounded by wall time) before they block on a
// condition variable, and a thread notifies only when someone actually sleeps. The budget must exceed
// the wake-up latency: otherwise one late wake-up makes the partner wait past its budget and sleep,
// its wake-up is late in turn, and the threads stay in that convoy step after step (measured: an MLP
// step of 1.2-1.5 ms instead of 0.4 ms with a 200 us budget). The spin does not yield the core: a
// yield hands it to any other runnable program for a whole time slice (0.75 ms and more), which made
// every hand-over that long while compilers ran beside the training. But a waiter stops spinning and
// blocks at once when a thread it waits for last ran on its own core (the scheduler put both on one
// core, as it does when the other core is busy): spinning would only keep that thread from running.
#include "engine/parallel.h"

#include <sched.h>

#include <cassert>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSpinBudget = std::chrono::microseconds(2000);
constexpr int kPausesPerClockCheck = 64;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done(), until kSpinBudget has passed or until `hopeless()`; returns done().
template <class Done, class Hopeless>
bool spin_until(const Done& done, const Hopeless& hopeless) {
  if (done()) return true;
  const auto start = Clock::now();
  while (true) {
    for (int i = 0; i < kPausesPerClockCheck; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() - start >= kSpinBudget || hopeless()) return done();
  }
}

thread_local int tls_part = 0;  // the part this thread runs in the current run()

int current_cpu() { return sched_getcpu(); }  // -1 when unknown: then never "on my core"

}  // namespace

ThreadPool::ThreadPool(int threads) : cpu_(new CpuSlot[threads]) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

bool ThreadPool::shares_my_core(int first, int last) const {
  const int me = current_cpu();
  if (me < 0) return false;
  for (int i = first; i < last; ++i)
    if (i != tls_part && cpu_[i].cpu.load(std::memory_order_relaxed) == me) return true;
  return false;
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
  tls_part = 0;
  cpu_[0].cpu.store(current_cpu(), std::memory_order_relaxed);
  fn(0);
  if (spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; },
                 [this] { return shares_my_core(1, size()); }))
    return;
  std::unique_lock<std::mutex> lock(mu_);
  // Dekker pair with worker_loop: store caller_asleep_ then load pending_ here, decrement pending_
  // then load caller_asleep_ there, all seq_cst, so at least one side sees the other's write.
  caller_asleep_.store(true);
  done_cv_.wait(lock, [this] { return pending_.load() == 0; });
  caller_asleep_.store(false);
}

void ThreadPool::barrier() {
  cpu_[tls_part].cpu.store(current_cpu(), std::memory_order_relaxed);
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
  if (spin_until(passed, [this] { return shares_my_core(0, task_n_); })) return;
  std::unique_lock<std::mutex> lock(mu_);
  barrier_sleepers_.fetch_add(1);
  barrier_cv_.wait(lock, passed);
  barrier_sleepers_.fetch_sub(1);
}

void ThreadPool::worker_loop(int index) {
  long seen = 0;
  while (true) {
    const auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published, [this] { return shares_my_core(0, 1); })) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1, std::memory_order_relaxed);
      start_cv_.wait(lock, published);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    // The acquire load that saw the new generation makes task_, task_n_ and stop_ visible.
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    tls_part = index;
    cpu_[index].cpu.store(current_cpu(), std::memory_order_relaxed);
    if (index < task_n_) (*task_)(index);
    if (pending_.fetch_sub(1) == 1 && caller_asleep_.load()) {
      std::lock_guard<std::mutex> lock(mu_);  // run() holds mu_ from setting the flag until it waits
      done_cv_.notify_one();
    }
  }
}

}  // namespace podlab
