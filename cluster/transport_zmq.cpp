// The ZeroMQ transport: tasks in separate processes (or machines) over TCP. The only file that
// includes zmq.h. Messages only ever go worker -> ps (requests) and ps -> worker (answers), so:
//   ps task      one ROUTER bound to its address from the cluster spec (127.0.0.1 when the spec says
//                127.0.0.1 or localhost, every interface otherwise, as a pod must); it answers a worker
//                by the routing id the worker's DEALER announced.
//   worker task  one DEALER per ps, routing id = the task name ("worker:3"), connected to the ps's
//                address. ZMQ_IMMEDIATE: nothing queues for a ps that is not connected; a send waits
//                for the connection (libzmq reconnects every 100 ms, backing off to 2 s) at most
//                kConnectTimeout, then fails with a kNetwork error naming the ps and its address.
// Every socket has linger 0 (closing never waits for unsent messages) and every wait is bounded.
// Each received message is checked before it is handed out: one frame, a routing id naming a worker
// of the cluster, decode_message() accepting it, and the header's sender matching the socket it came
// from. Anything else is counted (malformed_dropped), logged (the first few) and dropped; the
// receiver never sees it. zmq sockets are not thread-safe: a mutex per local task guards its sockets,
// and receive() waits in short slices so another thread's send() is not held up for long.
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cluster/transport.h"

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;

struct SocketCloser {
  void operator()(void* s) const {
    if (s) zmq_close(s);
  }
};
struct ContextTerm {
  void operator()(void* c) const {
    if (c) zmq_ctx_term(c);
  }
};
using SocketPtr = std::unique_ptr<void, SocketCloser>;
using ContextPtr = std::unique_ptr<void, ContextTerm>;

std::string zmq_error(const std::string& what) { return what + ": " + zmq_strerror(zmq_errno()); }

// How long a worker's send waits for the ps connection; PODLAB_CONNECT_TIMEOUT_MS overrides it.
int connect_timeout_ms() {
  if (const char* v = std::getenv("PODLAB_CONNECT_TIMEOUT_MS")) {
    const long ms = std::strtol(v, nullptr, 10);
    if (ms > 0) return static_cast<int>(std::min<long>(ms, 3600 * 1000));
  }
  return 30000;
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

std::string connect_endpoint(const HostPort& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}
std::string bind_endpoint(const HostPort& hp) {
  if (hp.host == "localhost") return "tcp://127.0.0.1:" + std::to_string(hp.port);
  if (is_loopback(hp.host)) return connect_endpoint(hp);
  return "tcp://*:" + std::to_string(hp.port);
}

Status set_int(void* s, int option, int value, const char* name) {
  if (zmq_setsockopt(s, option, &value, sizeof value) != 0) return Status::Network(zmq_error(std::string("zmq_setsockopt ") + name));
  return Status::Ok();
}

class ZmqTransport : public Transport {
 public:
  explicit ZmqTransport(const TransportConfig& config) : Transport("zmq", config) {}
  ~ZmqTransport() override {
    shutdown();
    for (auto& [task, ep] : endpoints_) {
      std::lock_guard<std::mutex> lock(ep->mu);
      ep->router.reset();
      ep->dealers.clear();
    }
    endpoints_.clear();
    // ctx_ (declared first) is terminated last, after every socket is closed.
  }

  Status open() {
    ctx_.reset(zmq_ctx_new());
    if (!ctx_) return Status::Network(zmq_error("zmq_ctx_new"));
    const ClusterSpec& spec = config().cluster;
    for (const TaskId& t : config().local) {
      auto ep = std::make_unique<Endpoint>();
      if (t.role == Role::kPs) {
        auto hp = parse_host_port(spec.address(t));
        if (!hp.ok()) return hp.status();
        ep->router.reset(zmq_socket(ctx_.get(), ZMQ_ROUTER));
        if (!ep->router) return Status::Network(zmq_error("zmq_socket"));
        void* s = ep->router.get();
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER"));
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_ROUTER_HANDOVER, 1, "ZMQ_ROUTER_HANDOVER"));  // a restarted worker takes its id back
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY"));  // unroutable: an error, not silence
        const int64_t max_size = static_cast<int64_t>(kHeaderBytes) + 4 * static_cast<int64_t>(kMaxPayloadFloats);
        if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0) return Status::Network(zmq_error("ZMQ_MAXMSGSIZE"));
        const std::string ep_text = bind_endpoint(*hp);
        if (zmq_bind(s, ep_text.c_str()) != 0)
          return Status::Network(zmq_error(t.name() + " cannot listen on " + ep_text + " (from " + spec.address(t) + ")"));
      } else {
        const int timeout = connect_timeout_ms();
        for (int k = 0; k < spec.num_ps(); ++k) {
          const TaskId ps{Role::kPs, k};
          auto hp = parse_host_port(spec.address(ps));
          if (!hp.ok()) return hp.status();
          SocketPtr d(zmq_socket(ctx_.get(), ZMQ_DEALER));
          if (!d) return Status::Network(zmq_error("zmq_socket"));
          void* s = d.get();
          const std::string id = t.name();
          if (zmq_setsockopt(s, ZMQ_ROUTING_ID, id.data(), id.size()) != 0) return Status::Network(zmq_error("ZMQ_ROUTING_ID"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_SNDTIMEO, timeout, "ZMQ_SNDTIMEO"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_RECONNECT_IVL, 100, "ZMQ_RECONNECT_IVL"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_RECONNECT_IVL_MAX, 2000, "ZMQ_RECONNECT_IVL_MAX"));
          const int64_t max_size = static_cast<int64_t>(kHeaderBytes) + 4 * static_cast<int64_t>(kMaxPayloadFloats);
          if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0) return Status::Network(zmq_error("ZMQ_MAXMSGSIZE"));
          const std::string ep_text = connect_endpoint(*hp);
          if (zmq_connect(s, ep_text.c_str()) != 0)
            return Status::Network(zmq_error(t.name() + " cannot connect to ps:" + std::to_string(k) + " at " + ep_text));
          ep->dealers.push_back(std::move(d));
        }
      }
      endpoints_[t] = std::move(ep);
    }
    return Status::Ok();
  }

  void shutdown() override {
    if (closed_.exchange(true)) return;
    if (ctx_) zmq_ctx_shutdown(ctx_.get());  // blocking calls in any thread return ETERM
  }

  int64_t malformed() const { return malformed_.load(); }

 protected:
  Status deliver(const TaskId& from, const TaskId& to, Bytes bytes) override {
    if (closed_.load()) return Status::Network("transport closed");
    auto it = endpoints_.find(from);
    if (it == endpoints_.end()) return Status::Internal(from.name() + " is not local to this zmq transport");
    Endpoint& ep = *it->second;
    std::lock_guard<std::mutex> lock(ep.mu);
    if (from.role == Role::kWorker && to.role == Role::kPs) {
      void* s = ep.dealers.at(static_cast<size_t>(to.index)).get();
      if (zmq_send(s, bytes.data(), bytes.size(), 0) < 0) {
        if (zmq_errno() == EAGAIN) {
          count_lost(from);
          return Status::Network("no connection to " + to.name() + " at " +
                                 config().cluster.address(to) + " after " + std::to_string(connect_timeout_ms() / 1000.0) +
                                 " s (is the ps running and reachable?)");
        }
        if (zmq_errno() == ETERM) return Status::Network("transport closed");
        return Status::Network(zmq_error(from.name() + " -> " + to.name()));
      }
      return Status::Ok();
    }
    if (from.role == Role::kPs && to.role == Role::kWorker) {
      void* s = ep.router.get();
      const std::string id = to.name();
      if (zmq_send(s, id.data(), id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
          zmq_send(s, bytes.data(), bytes.size(), ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == ETERM) return Status::Network("transport closed");
        count_lost(from);  // the worker is not connected (or its queue is full): it will retry
      }
      return Status::Ok();
    }
    return Status::Network("the zmq transport only carries worker <-> ps messages, not " + from.name() + " -> " + to.name());
  }

  ReceiveStatus wait_for(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout) override {
    auto it = endpoints_.find(self);
    if (it == endpoints_.end()) return ReceiveStatus::kClosed;
    Endpoint& ep = *it->second;
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      if (closed_.load()) return ReceiveStatus::kClosed;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      const long slice = std::max<long>(0, std::min<long>(left.count(), 25));
      {
        std::lock_guard<std::mutex> lock(ep.mu);
        std::vector<zmq_pollitem_t> items;
        if (ep.router) items.push_back({ep.router.get(), 0, ZMQ_POLLIN, 0});
        for (auto& d : ep.dealers) items.push_back({d.get(), 0, ZMQ_POLLIN, 0});
        const int n = zmq_poll(items.data(), static_cast<int>(items.size()), slice);
        if (n < 0) {
          if (zmq_errno() == ETERM) return ReceiveStatus::kClosed;
          if (zmq_errno() != EINTR) return ReceiveStatus::kClosed;
        }
        for (size_t i = 0; n > 0 && i < items.size(); ++i) {
          if (!(items[i].revents & ZMQ_POLLIN)) continue;
          const ReceiveStatus rs = ep.router ? read_router(self, ep, out) : read_dealer(self, static_cast<int>(i), ep, out);
          if (rs == ReceiveStatus::kMessage || rs == ReceiveStatus::kClosed) return rs;
        }
      }
      if (Clock::now() >= deadline) return ReceiveStatus::kTimeout;
    }
  }

 private:
  struct Endpoint {
    std::mutex mu;                   // guards the sockets below (zmq sockets are not thread-safe)
    SocketPtr router;                // ps
    std::vector<SocketPtr> dealers;  // worker: one per ps, by index
  };

  // Reads every frame of one message; frames[0..] in `frames`. kClosed on ETERM, kTimeout on EAGAIN.
  ReceiveStatus read_frames(void* s, std::vector<Bytes>* frames) {
    frames->clear();
    for (;;) {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, s, ZMQ_DONTWAIT) < 0) {
        const int e = zmq_errno();
        zmq_msg_close(&msg);
        if (e == ETERM) return ReceiveStatus::kClosed;
        return ReceiveStatus::kTimeout;
      }
      const auto* p = static_cast<const uint8_t*>(zmq_msg_data(&msg));
      frames->emplace_back(p, p + zmq_msg_size(&msg));
      const bool more = zmq_msg_more(&msg);
      zmq_msg_close(&msg);
      if (!more) return ReceiveStatus::kMessage;
    }
  }

  ReceiveStatus read_router(const TaskId& self, Endpoint& ep, Envelope* out) {
    std::vector<Bytes> frames;
    const ReceiveStatus rs = read_frames(ep.router.get(), &frames);
    if (rs != ReceiveStatus::kMessage) return rs;
    std::string id = frames.empty() ? std::string() : std::string(frames[0].begin(), frames[0].end());
    TaskId from{Role::kWorker, -1};
    if (id.rfind("worker:", 0) == 0 && id.size() > 7 && id.size() < 13 &&
        std::all_of(id.begin() + 7, id.end(), [](char c) { return c >= '0' && c <= '9'; }))
      from.index = std::atoi(id.c_str() + 7);
    if (from.index < 0 || !config().cluster.contains(from))
      return drop(self, "a peer that is not a worker of the cluster (routing id '" + printable(id) + "')");
    if (frames.size() != 2) return drop(self, from.name() + ": " + std::to_string(frames.size()) + " frames, expected 1");
    return accept(self, from, std::move(frames[1]), out);
  }

  ReceiveStatus read_dealer(const TaskId& self, int ps, Endpoint& ep, Envelope* out) {
    std::vector<Bytes> frames;
    const ReceiveStatus rs = read_frames(ep.dealers[static_cast<size_t>(ps)].get(), &frames);
    if (rs != ReceiveStatus::kMessage) return rs;
    const TaskId from{Role::kPs, ps};
    if (frames.size() != 1) return drop(self, from.name() + ": " + std::to_string(frames.size()) + " frames, expected 1");
    return accept(self, from, std::move(frames[0]), out);
  }

  ReceiveStatus accept(const TaskId& self, const TaskId& from, Bytes bytes, Envelope* out) {
    auto h = decode_message(bytes);
    if (!h.ok()) return drop(self, from.name() + ": " + h.status().message());
    if (TaskId{h->sender_role, h->sender_index} != from)
      return drop(self, from.name() + ": " + h->debug_string() + " claims another sender");
    out->from = from;
    out->bytes = std::move(bytes);
    out->delay_ms = 0;
    return ReceiveStatus::kMessage;
  }

  // Counts and logs (the first 10) a message that failed validation; the caller keeps waiting.
  ReceiveStatus drop(const TaskId& self, const std::string& why) {
    if (malformed_.fetch_add(1) < 10)
      std::fprintf(stderr, "podlab: %s: dropped a malformed message from %s\n", self.name().c_str(), why.c_str());
    return ReceiveStatus::kTimeout;
  }

  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 32)) out += (c >= 32 && c < 127) ? c : '?';
    return out;
  }

  ContextPtr ctx_;  // first: destroyed after the sockets
  std::map<TaskId, std::unique_ptr<Endpoint>> endpoints_;  // fixed after open()
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> malformed_{0};
};

}  // namespace

Result<std::unique_ptr<Transport>> new_zmq_transport(const TransportConfig& config) {
  auto t = std::make_unique<ZmqTransport>(config);
  Status st = t->open();
  if (!st.ok()) return st;
  return std::unique_ptr<Transport>(std::move(t));
}

int64_t zmq_malformed_messages(const Transport& t) {
  const auto* z = dynamic_cast<const ZmqTransport*>(&t);
  return z ? z->malformed() : 0;
}

}  // namespace podlab
