// The in-process transport: every task is a thread, every task has a mailbox, and a small network
// simulator decides when (and whether) a message arrives. Per link (sender, receiver):
//   lost     with probability `loss` (one generator per link seeded from (seed, from, to), so the
//            same sequence of sends loses the same messages on every run);
//   leaves   when the link has finished sending the previous message (bandwidth: bytes*8/bps each);
//   arrives  latency +- jitter after it left, but never before the previous message on the link
//            (links are FIFO, like the TCP connections the zmq transport will use).
// A slow worker (factor f) is held in send() for (f - 1) x the time since its last receive, i.e. its
// compute between receiving parameters and sending gradients is stretched by f.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <thread>

#include "cluster/transport.h"
#include "engine/rng.h"

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
Clock::duration from_ms(double ms) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}
uint64_t task_code(const TaskId& t) { return (static_cast<uint64_t>(t.role) << 32) | static_cast<uint32_t>(t.index); }

class InprocTransport : public Transport {
 public:
  explicit InprocTransport(const TransportConfig& config) : Transport("inproc", config) {
    for (const TaskId& t : this->config().local) boxes_[t] = std::make_unique<Mailbox>();
  }
  ~InprocTransport() override { shutdown(); }

  void shutdown() override {
    closed_.store(true);
    for (auto& [task, box] : boxes_) {
      std::lock_guard<std::mutex> lock(box->mu);
      box->cv.notify_all();
    }
  }

 protected:
  Status deliver(const TaskId& from, const TaskId& to, Bytes bytes) override {
    if (closed_.load()) return Status::Network("transport closed");
    auto box_it = boxes_.find(to);
    if (box_it == boxes_.end()) return Status::Network(to.name() + " is not served by this inproc transport");
    // A heartbeat is not computation: only real requests of a slow worker are held back.
    const bool heartbeat = bytes.size() > 6 && bytes[6] == static_cast<uint8_t>(MessageType::kHeartbeat);
    if (!heartbeat) hold_back_if_slow(from);
    const LinkModel& m = config().link;
    Pending msg;
    msg.from = from;
    {
      std::lock_guard<std::mutex> lock(links_mu_);
      if (dead_now(from)) {
        count_lost(from);
        return Status::Ok();
      }
      if (from.role == Role::kWorker) {
        auto silent = config().worker_silent_after.find(from.index);
        if (silent != config().worker_silent_after.end() && ++sent_by_worker_[from.index] > silent->second) {
          count_lost(from);
          return Status::Ok();
        }
      }
      auto [it, fresh] = links_.try_emplace({task_code(from), task_code(to)});
      Link& link = it->second;
      if (fresh) link.rng.reseed(derive_seed(config().seed, task_code(from), task_code(to)));
      const double loss = m.loss + (config().live ? config().live->loss.load() : 0.0);
      if (loss > 0 && link.rng.uniform() < static_cast<float>(loss)) {
        count_lost(from);
        return Status::Ok();
      }
      const Clock::time_point now = Clock::now();
      const double tx_ms = m.bandwidth_mbps > 0 ? bytes.size() * 8.0 / (m.bandwidth_mbps * 1e3) : 0.0;
      const Clock::time_point start = std::max(now, link.free_at);
      link.free_at = start + from_ms(tx_ms);
      double delay = m.latency_ms;
      if (m.jitter_ms > 0) delay = std::max(0.0, delay + link.rng.uniform(-1.0f, 1.0f) * m.jitter_ms);
      msg.due = std::max(link.free_at + from_ms(delay), link.last_due);
      link.last_due = msg.due;
      msg.delay_ms = ms_between(now, msg.due);
    }
    msg.order = next_order_.fetch_add(1);
    msg.bytes = std::move(bytes);
    Mailbox& box = *box_it->second;
    size_t depth;
    {
      std::lock_guard<std::mutex> lock(box.mu);
      box.heap.push_back(std::move(msg));
      std::push_heap(box.heap.begin(), box.heap.end(), Later());
      depth = box.heap.size();
      box.cv.notify_all();
    }
    count_queue_depth(to, depth);
    return Status::Ok();
  }

  ReceiveStatus wait_for(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout, PayloadCheck) override {
    auto box_it = boxes_.find(self);
    if (box_it == boxes_.end()) return ReceiveStatus::kClosed;
    Mailbox& box = *box_it->second;
    const Clock::time_point deadline = Clock::now() + timeout;
    std::unique_lock<std::mutex> lock(box.mu);
    for (;;) {
      if (closed_.load()) return ReceiveStatus::kClosed;
      const Clock::time_point now = Clock::now();
      if (!box.heap.empty() && box.heap.front().due <= now) {
        std::pop_heap(box.heap.begin(), box.heap.end(), Later());
        Pending msg = std::move(box.heap.back());
        box.heap.pop_back();
        const size_t depth = box.heap.size();
        lock.unlock();
        out->from = msg.from;
        out->bytes = std::move(msg.bytes);
        out->view = nullptr;
        out->view_size = 0;
        out->held.reset();
        out->delay_ms = msg.delay_ms;
        count_queue_depth(self, depth);
        if (self.role == Role::kWorker) {
          std::lock_guard<std::mutex> links_lock(links_mu_);
          last_receive_[self.index] = Clock::now();
        }
        return ReceiveStatus::kMessage;
      }
      if (now >= deadline) return ReceiveStatus::kTimeout;
      Clock::time_point wake = deadline;
      if (!box.heap.empty()) wake = std::min(wake, box.heap.front().due);
      box.cv.wait_until(lock, wake);
    }
  }

 private:
  struct Pending {
    Clock::time_point due;
    uint64_t order = 0;  // tie-break: equal due times keep send order
    TaskId from;
    Bytes bytes;
    double delay_ms = 0;
  };
  struct Later {  // min-heap on (due, order)
    bool operator()(const Pending& a, const Pending& b) const {
      return a.due != b.due ? a.due > b.due : a.order > b.order;
    }
  };
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Pending> heap;  // guarded by mu
  };
  struct Link {
    Rng rng;
    Clock::time_point free_at{}, last_due{};
  };

  // A task killed through LiveFaults: everything it sends from now on vanishes.
  bool dead_now(const TaskId& t) const {
    const LiveFaults* live = config().live.get();
    if (!live || t.index < 0 || t.index >= LiveFaults::kMaxTasks) return false;
    return t.role == Role::kWorker ? live->worker_killed[t.index].load() : live->ps_killed[t.index].load();
  }

  void hold_back_if_slow(const TaskId& from) {
    if (from.role != Role::kWorker) return;
    const auto& f = config().worker_slowdown;
    double factor = from.index < static_cast<int>(f.size()) ? f[from.index] : 1.0;
    if (config().live && from.index < LiveFaults::kMaxTasks)
      factor = std::max(factor, config().live->worker_slowdown[from.index].load());
    if (factor <= 1.0) return;
    Clock::time_point until;
    {
      std::lock_guard<std::mutex> lock(links_mu_);
      const Clock::time_point now = Clock::now();
      auto it = last_receive_.find(from.index);
      const double worked_ms = it == last_receive_.end() ? 0.0 : std::max(0.0, ms_between(it->second, now));
      until = now + from_ms((factor - 1.0) * worked_ms);
      last_receive_[from.index] = until;  // a burst of sends (one per shard) is held back once
    }
    const double held = ms_between(Clock::now(), until);
    while (Clock::now() < until && !closed_.load())
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
    if (held > 0) count_slowdown(from, held);
  }

  std::map<TaskId, std::unique_ptr<Mailbox>> boxes_;  // fixed after construction
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> next_order_{0};
  std::mutex links_mu_;
  std::map<std::pair<uint64_t, uint64_t>, Link> links_;  // guarded by links_mu_
  std::map<int, int64_t> sent_by_worker_;                // guarded by links_mu_
  std::map<int, Clock::time_point> last_receive_;        // guarded by links_mu_ (workers only)
};

}  // namespace

std::unique_ptr<Transport> new_inproc_transport(const TransportConfig& config) {
  return std::make_unique<InprocTransport>(config);
}

}  // namespace podlab
