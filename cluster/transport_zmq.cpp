// The ZeroMQ transport: tasks in separate processes (or machines) over TCP. The only file that
// includes zmq.h. Messages only ever go worker -> ps (requests) and ps -> worker (answers), so:
//   ps task      one ROUTER bound to its address from the cluster spec (127.0.0.1 when the spec says
//                127.0.0.1 or localhost, every interface otherwise, as a pod must); it answers a worker
//                by the routing id the worker's DEALER announced.
//   worker task  (and `podlab submit`, routing id "client:N", N its own pick in 1..65535)
//                one DEALER per ps, routing id = the task name and this process's random nonce
//                ("worker:3#9f2c41d07ab3e865": see "Two processes with one index" below), connected
//                to the ps's address. ZMQ_IMMEDIATE: nothing queues for a ps that is not connected; a send waits
//                for the connection (libzmq reconnects every 100 ms, backing off to 2 s) at most
//                kConnectTimeout, then fails with a kNetwork error naming the ps and its address
//                (kInterrupted at once when TransportConfig::interrupt is set meanwhile).
// CURVE (TransportConfig::curve enabled): a ps ROUTER is a CURVE server with the ps key pair; a worker
// DEALER is a CURVE client with its key pair and the ps public key, so every frame is encrypted and
// authenticated. Which clients may connect is decided by a ZAP handler (ZeroMQ's authentication
// protocol, RFC 27: a REP socket at inproc://zeromq.zap.01 that libzmq asks during each handshake)
// running on the transport's guard thread: it accepts a client public key in curve.authorized and
// refuses any other, so an unknown peer never gets a message to the ps. The guard thread also reads
// each ROUTER's socket monitor and counts refused handshakes (unknown key, no CURVE, not ZeroMQ) as
// rejected_peers. A worker watches its DEALERs' monitors: a ps that refuses its key (or its lack of
// one) is a kConfig error at once, not a silent wait for the connect timeout.
// Two processes with one index: a ps answers worker N at the routing id it last heard a new process
// of worker N from (a restarted worker's replacement). When the process before it speaks again more
// than kDuplicateGrace after the newcomer first did, both are alive: two were started with one
// --index. The ps then answers the newcomer REFUSE with a report (code 6, "duplicate": true; its
// worker exits 6 saying so: on Kubernetes a replacement pod can overlap its terminating predecessor
// for a moment, and a Job retries 6 where 3 would fail it), ignores it from then on, and goes back
// to the first process, which trains on. A dead process's messages read late come within the grace
// and are dropped.
// Every socket has linger 0 (closing never waits for unsent messages) and every wait is bounded.
// Each received message is checked before it is handed out: one frame, a routing id naming a worker
// of the cluster, decode_message() accepting it (payload checksum included, computed in zmq's buffer,
// which the receiver then reads through a view: no copy), and the header's sender matching the socket it came from. Anything else is counted (malformed_dropped), logged (the first few) and dropped; the
// receiver never sees it. zmq sockets are not thread-safe: a mutex per local task guards its sockets,
// and receive() waits in short slices so another thread's send() is not held up for long.
#include <zmq.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string_view>
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

std::string connect_endpoint(const HostPort& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}
std::string bind_endpoint(const HostPort& hp) {
  if (hp.host == "localhost") return "tcp://127.0.0.1:" + std::to_string(hp.port);
  if (is_loopback_host(hp.host)) return connect_endpoint(hp);
  return "tcp://*:" + std::to_string(hp.port);
}

Status set_int(void* s, int option, int value, const char* name) {
  if (zmq_setsockopt(s, option, &value, sizeof value) != 0) return Status::Network(zmq_error(std::string("zmq_setsockopt ") + name));
  return Status::Ok();
}

Status set_text(void* s, int option, const std::string& value, const char* name) {
  if (zmq_setsockopt(s, option, value.data(), value.size()) != 0) return Status::Network(zmq_error(std::string("zmq_setsockopt ") + name));
  return Status::Ok();
}

// A handshake's end as a socket monitor reports it (zmq_socket_monitor's two-frame event).
struct MonitorEvent {
  uint16_t event = 0;
  uint32_t value = 0;
  std::string address;
};
constexpr int kHandshakeFailed =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

// Reads one event from a monitor PAIR socket without waiting; false when there is none.
bool read_monitor_event(void* pair, MonitorEvent* ev) {
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (zmq_msg_recv(&m, pair, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&m);
    return false;
  }
  bool ok = zmq_msg_size(&m) == 6 && zmq_msg_more(&m);
  if (ok) {
    const auto* d = static_cast<const uint8_t*>(zmq_msg_data(&m));
    std::memcpy(&ev->event, d, 2);
    std::memcpy(&ev->value, d + 2, 4);
  }
  bool more = zmq_msg_more(&m);
  zmq_msg_close(&m);
  ev->address.clear();
  while (more) {  // the endpoint address frame
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, pair, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&m);
      break;
    }
    ev->address.assign(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
    more = zmq_msg_more(&m);
    zmq_msg_close(&m);
  }
  return ok;
}

class ZmqTransport : public Transport {
 public:
  explicit ZmqTransport(const TransportConfig& config) : Transport("zmq", config) {}
  ~ZmqTransport() override {
    shutdown();
    if (guard_.joinable()) guard_.join();  // it closes its own sockets on ETERM
    for (auto& [task, ep] : endpoints_) {
      std::lock_guard<std::mutex> lock(ep->mu);
      ep->router.reset();
      ep->dealers.clear();
      ep->monitors.clear();
    }
    endpoints_.clear();
    zap_.reset();
    router_monitors_.clear();
    // Terminated after every socket is closed and before pool_ goes: messages still queued are freed
    // during the termination, and their buffers come back to recycle().
    ctx_.reset();
  }

  Status open() {
    connect_timeout_ms_ = connect_timeout_ms();
    const CurveKeys& keys = config().curve;
    PODLAB_RETURN_IF_ERROR(check_keys());
    ctx_.reset(zmq_ctx_new());
    if (!ctx_) return Status::Network(zmq_error("zmq_ctx_new"));
    if (keys.enabled && has_local(Role::kPs)) PODLAB_RETURN_IF_ERROR(open_zap());
    const ClusterSpec& spec = config().cluster;
    // IPv6 literals anywhere in the spec ("[::1]:2222"): every socket speaks IPv6 too (zmq's default is
    // IPv4 only); host names in such a spec may then resolve to IPv6. A spec without IPv6 literals
    // keeps the default, so there a name with both A and AAAA records still means IPv4.
    bool ipv6 = false;
    for (const TaskId& t : spec.tasks()) {
      auto hp = parse_host_port(spec.address(t));
      ipv6 = ipv6 || (hp.ok() && hp->host.find(':') != std::string::npos);
    }
    for (const TaskId& t : config().local) {
      auto ep = std::make_unique<Endpoint>();
      if (t.role == Role::kPs) {
        auto hp = parse_host_port(spec.address(t));
        if (!hp.ok()) return hp.status();
        ep->router.reset(zmq_socket(ctx_.get(), ZMQ_ROUTER));
        if (!ep->router) return Status::Network(zmq_error("zmq_socket"));
        void* s = ep->router.get();
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER"));
        // A peer reconnecting with an id already connected takes it over (workers' ids differ per process).
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_ROUTER_HANDOVER, 1, "ZMQ_ROUTER_HANDOVER"));
        PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY"));  // unroutable: an error, not silence
        if (ipv6) PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_IPV6, 1, "ZMQ_IPV6"));
        const int64_t max_size = static_cast<int64_t>(kHeaderBytes) + 4 * static_cast<int64_t>(kMaxPayloadFloats);
        if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0) return Status::Network(zmq_error("ZMQ_MAXMSGSIZE"));
        if (keys.enabled) {
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER"));
          PODLAB_RETURN_IF_ERROR(set_text(s, ZMQ_CURVE_SECRETKEY, keys.server_secret, "ZMQ_CURVE_SECRETKEY"));
          PODLAB_RETURN_IF_ERROR(set_text(s, ZMQ_ZAP_DOMAIN, "podlab", "ZMQ_ZAP_DOMAIN"));
        }
        SocketPtr monitor;
        PODLAB_RETURN_IF_ERROR(open_monitor(s, "ps." + std::to_string(t.index), &monitor));
        router_monitors_.emplace_back(t, std::move(monitor));
        const std::string ep_text = bind_endpoint(*hp);
        if (zmq_bind(s, ep_text.c_str()) != 0) {
          const bool in_use = zmq_errno() == EADDRINUSE;
          Status st = Status::Network(zmq_error(t.name() + " cannot listen on " + ep_text + " (from " + spec.address(t) + ")"));
          if (in_use)  // most often a second ps with this --index, or one still running from an earlier run
            st = Status::Network(st.message() + ": another process listens there, perhaps another " + t.name() +
                                 " (`ss -ltnp 'sport = :" + std::to_string(hp->port) + "'` names it)");
          return st;
        }
      } else {
        const int timeout = connect_timeout_ms_;
        for (int k = 0; k < spec.num_ps(); ++k) {
          const TaskId ps{Role::kPs, k};
          auto hp = parse_host_port(spec.address(ps));
          if (!hp.ok()) return hp.status();
          SocketPtr d(zmq_socket(ctx_.get(), ZMQ_DEALER));
          if (!d) return Status::Network(zmq_error("zmq_socket"));
          void* s = d.get();
          const std::string id = t.role == Role::kWorker ? t.name() + "#" + nonce_ : t.name();
          if (zmq_setsockopt(s, ZMQ_ROUTING_ID, id.data(), id.size()) != 0) return Status::Network(zmq_error("ZMQ_ROUTING_ID"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE"));
          if (ipv6) PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_IPV6, 1, "ZMQ_IPV6"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_SNDTIMEO, timeout, "ZMQ_SNDTIMEO"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_RECONNECT_IVL, 100, "ZMQ_RECONNECT_IVL"));
          PODLAB_RETURN_IF_ERROR(set_int(s, ZMQ_RECONNECT_IVL_MAX, 2000, "ZMQ_RECONNECT_IVL_MAX"));
          const int64_t max_size = static_cast<int64_t>(kHeaderBytes) + 4 * static_cast<int64_t>(kMaxPayloadFloats);
          if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size) != 0) return Status::Network(zmq_error("ZMQ_MAXMSGSIZE"));
          if (keys.enabled) {
            PODLAB_RETURN_IF_ERROR(set_text(s, ZMQ_CURVE_SERVERKEY, keys.server_public, "ZMQ_CURVE_SERVERKEY"));
            PODLAB_RETURN_IF_ERROR(set_text(s, ZMQ_CURVE_PUBLICKEY, keys.client_public, "ZMQ_CURVE_PUBLICKEY"));
            PODLAB_RETURN_IF_ERROR(set_text(s, ZMQ_CURVE_SECRETKEY, keys.client_secret, "ZMQ_CURVE_SECRETKEY"));
          }
          SocketPtr monitor;
          PODLAB_RETURN_IF_ERROR(open_monitor(s, t.name() + ".ps." + std::to_string(k), &monitor));
          const std::string ep_text = connect_endpoint(*hp);
          if (zmq_connect(s, ep_text.c_str()) != 0)
            return Status::Network(zmq_error(t.name() + " cannot connect to ps:" + std::to_string(k) + " at " + ep_text));
          ep->dealers.push_back(std::move(d));
          ep->monitors.push_back(std::move(monitor));
          ep->handshake.emplace_back();
        }
      }
      endpoints_[t] = std::move(ep);
    }
    if (!router_monitors_.empty()) guard_ = std::thread([this] { guard_loop(); });
    return Status::Ok();
  }

  void shutdown() override {
    if (closed_.exchange(true)) return;
    if (ctx_) zmq_ctx_shutdown(ctx_.get());  // blocking calls in any thread return ETERM
  }

  int64_t malformed() const { return malformed_.load(); }

  void reject(const TaskId& self, const std::string& why) override { drop(self, why); }

 protected:
  Status deliver(const TaskId& from, const TaskId& to, Bytes bytes) override {
    if (closed_.load()) return Status::Network("transport closed");
    auto it = endpoints_.find(from);
    if (it == endpoints_.end()) return Status::Internal(from.name() + " is not local to this zmq transport");
    Endpoint& ep = *it->second;
    std::lock_guard<std::mutex> lock(ep.mu);
    if (from.role != Role::kPs && to.role == Role::kPs) return send_to_ps(from, to, ep, std::move(bytes));
    if (from.role == Role::kPs && to.role != Role::kPs) {
      void* s = ep.router.get();
      const auto w = to.role == Role::kWorker ? ep.workers.find(to.index) : ep.workers.end();
      std::string by_name;  // a client's id, or a worker not heard yet
      const std::string& id = w != ep.workers.end() && !w->second.current.empty() ? w->second.current : (by_name = to.name());
      if (zmq_send(s, id.data(), id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == ETERM) return Status::Network("transport closed");
        count_lost(from);  // the worker is not connected (or its queue is full): it will retry
        return Status::Ok();
      }
      zmq_msg_t msg;
      wrap(std::move(bytes), &msg);
      if (zmq_msg_send(&msg, s, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        if (zmq_errno() == ETERM) return Status::Network("transport closed");
        count_lost(from);
      }
      return Status::Ok();
    }
    return Status::Network("the zmq transport only carries worker <-> ps messages, not " + from.name() + " -> " + to.name());
  }

  ReceiveStatus wait_for(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout, PayloadCheck check) override {
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
          const ReceiveStatus rs = ep.router ? read_router(self, ep, check, out) : read_dealer(self, static_cast<int>(i), ep, check, out);
          if (rs == ReceiveStatus::kMessage || rs == ReceiveStatus::kClosed) return rs;
        }
      }
      if (Clock::now() >= deadline) return ReceiveStatus::kTimeout;
    }
  }

 private:
  // What a worker's DEALER monitor said about the handshakes with one ps.
  struct Handshake {
    bool succeeded = false;  // at least once
    std::string last_failure;  // the latest failed handshake, explained; empty: none
    bool refused = false;      // the ps refused us for good (its ZAP handler, or a CURVE/plain mismatch)
  };
  struct Endpoint {
    std::mutex mu;                    // guards everything below (zmq sockets are not thread-safe)
    SocketPtr router;                 // ps
    std::vector<SocketPtr> dealers;   // worker: one per ps, by index
    std::vector<SocketPtr> monitors;  // worker: the PAIR reading each dealer's monitor
    std::vector<Handshake> handshake; // worker: per ps
    // ps: the processes that have spoken as each worker (see the top of this file).
    struct Incarnation {
      std::string id;  // routing id, "worker:N#NONCE"
      Clock::time_point first_seen{};
    };
    struct WorkerProcesses {
      std::vector<Incarnation> known;  // every process heard as this worker and not refused, oldest first
      std::string current;             // the one answers go to: the newest, until an older one speaks
      std::set<std::string, std::less<>> refused;  // routing ids of second (third...) processes
    };
    std::map<int, WorkerProcesses> workers;
  };

  bool has_local(Role r) const {
    return std::any_of(config().local.begin(), config().local.end(), [r](const TaskId& t) { return t.role == r; });
  }

  // The keys each local task needs are there (load_curve_keys fills them; tests may build them).
  Status check_keys() {
    const CurveKeys& k = config().curve;
    if (!k.enabled) return Status::Ok();
    if (!curve_available())
      return Status::Config("CURVE keys are configured but this libzmq was built without CURVE (libsodium); run without keys or install Debian's libzmq5");
    auto z85 = [](const std::string& key) { return key.size() == kZ85KeyChars; };
    if (has_local(Role::kPs) && (!z85(k.server_secret) || k.authorized.empty()))
      return Status::Config("a ps needs the server key pair and at least one authorised client key (server.key, authorized_clients in " + k.dir + ")");
    if (has_local(Role::kWorker) && (!z85(k.server_public) || !z85(k.client_public) || !z85(k.client_secret)))
      return Status::Config("a worker needs the ps public key and its own key pair (server.pub, client.key in " + k.dir + ")");
    for (const std::string& a : k.authorized) {
      std::array<uint8_t, 32> raw;
      if (a.size() != kZ85KeyChars || !zmq_z85_decode(raw.data(), a.c_str()))
        return Status::Config("authorised client key '" + a + "' is not 40 Z85 characters");
      authorized_raw_.insert(raw);
    }
    return Status::Ok();
  }

  // The ZAP handler's socket: libzmq asks it about every CURVE handshake on this context's ROUTERs.
  Status open_zap() {
    zap_.reset(zmq_socket(ctx_.get(), ZMQ_REP));
    if (!zap_) return Status::Network(zmq_error("zmq_socket"));
    PODLAB_RETURN_IF_ERROR(set_int(zap_.get(), ZMQ_LINGER, 0, "ZMQ_LINGER"));
    if (zmq_bind(zap_.get(), "inproc://zeromq.zap.01") != 0) return Status::Network(zmq_error("bind the ZAP handler"));
    return Status::Ok();
  }

  // A PAIR socket reading the handshake events of `s`.
  Status open_monitor(void* s, const std::string& name, SocketPtr* out) {
    const std::string addr = "inproc://podlab.monitor." + name;
    if (zmq_socket_monitor(s, addr.c_str(), kHandshakeFailed | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
      return Status::Network(zmq_error("zmq_socket_monitor"));
    out->reset(zmq_socket(ctx_.get(), ZMQ_PAIR));
    if (!*out) return Status::Network(zmq_error("zmq_socket"));
    PODLAB_RETURN_IF_ERROR(set_int(out->get(), ZMQ_LINGER, 0, "ZMQ_LINGER"));
    if (zmq_connect(out->get(), addr.c_str()) != 0) return Status::Network(zmq_error("connect the socket monitor"));
    return Status::Ok();
  }

  // The guard thread: answers ZAP requests and counts refused handshakes on every local ROUTER, until
  // the context shuts down. Owns zap_ and router_monitors_ once started.
  void guard_loop() {
    std::vector<zmq_pollitem_t> items;
    if (zap_) items.push_back({zap_.get(), 0, ZMQ_POLLIN, 0});
    for (auto& [task, m] : router_monitors_) items.push_back({m.get(), 0, ZMQ_POLLIN, 0});
    const size_t first_monitor = zap_ ? 1 : 0;
    for (;;) {
      const int n = zmq_poll(items.data(), static_cast<int>(items.size()), 500);
      if (n < 0 && zmq_errno() != EINTR) break;  // ETERM: shutting down
      if (closed_.load()) break;
      if (n <= 0) continue;
      if (zap_ && (items[0].revents & ZMQ_POLLIN)) answer_zap();
      for (size_t i = first_monitor; i < items.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        const auto& [task, m] = router_monitors_[i - first_monitor];
        MonitorEvent ev;
        while (read_monitor_event(m.get(), &ev))
          if (ev.event & kHandshakeFailed) {
            count_rejected(task);
            if (rejected_logged_++ < 10)
              std::fprintf(stderr, "podlab: %s: refused a connection on %s (%s)\n", task.name().c_str(),
                           ev.address.c_str(), handshake_failure(ev).c_str());
          }
      }
    }
    zap_.reset();
    router_monitors_.clear();
  }

  // One ZAP request (RFC 27): version, request id, domain, address, identity, mechanism, credentials.
  // 200 for a CURVE client whose public key is authorised, 400 for anything else.
  void answer_zap() {
    std::vector<std::string> f;
    for (bool more = true; more && f.size() < 16;) {
      zmq_msg_t m;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, zap_.get(), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
      }
      f.emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
      more = zmq_msg_more(&m);
      zmq_msg_close(&m);
    }
    bool ok = f.size() >= 7 && f[0] == "1.0" && f[5] == "CURVE" && f[6].size() == 32;
    if (ok) {
      std::array<uint8_t, 32> key;
      std::memcpy(key.data(), f[6].data(), 32);
      ok = authorized_raw_.count(key) > 0;
      if (!ok && zap_denied_logged_++ < 10) {
        char z85[kZ85KeyChars + 1];
        zmq_z85_encode(z85, key.data(), key.size());
        std::string servers;  // the local ps tasks, whose shared ZAP handler this is
        for (const TaskId& t : config().local)
          if (t.role == Role::kPs) servers += (servers.empty() ? "" : ",") + t.name();
        std::fprintf(stderr, "podlab: %s: refused CURVE client key %s from %s: not in authorized_clients\n",
                     servers.empty() ? "ps" : servers.c_str(), z85, f[3].c_str());
      }
    }
    const std::string reply[] = {"1.0", f.size() > 1 ? f[1] : "", ok ? "200" : "400", ok ? "OK" : "client key not authorised", "", ""};
    for (size_t i = 0; i < 6; ++i)
      if (zmq_send(zap_.get(), reply[i].data(), reply[i].size(), i + 1 < 6 ? ZMQ_SNDMORE : 0) < 0) return;
  }

  static std::string handshake_failure(const MonitorEvent& ev) {
    if (ev.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return "authentication refused, ZAP status " + std::to_string(ev.value);
    if (ev.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      if (ev.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) return "one side uses CURVE keys and the other does not";
      if (ev.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) return "CURVE handshake failed: wrong server key";
      char hex[16];
      std::snprintf(hex, sizeof hex, "%x", ev.value);
      return std::string("handshake protocol error 0x") + hex;
    }
    return ev.value ? std::string("handshake failed: ") + std::strerror(static_cast<int>(ev.value)) : "handshake failed";
  }

  // Drains the monitor of the DEALER to `ps` into ep.handshake.
  void read_dealer_monitor(Endpoint& ep, int ps) {
    MonitorEvent ev;
    Handshake& hs = ep.handshake[static_cast<size_t>(ps)];
    while (read_monitor_event(ep.monitors[static_cast<size_t>(ps)].get(), &ev)) {
      if (ev.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        hs.succeeded = true;
        hs.refused = false;
      } else if (ev.event & kHandshakeFailed) {
        hs.last_failure = handshake_failure(ev);
        hs.refused = ev.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                     (ev.event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && ev.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
      }
    }
  }

  Status refused_error(const TaskId& from, const TaskId& to, const Handshake& hs) const {
    const CurveKeys& k = config().curve;
    std::string fix;
    if (!k.enabled)
      fix = "the ps requires CURVE keys: give " + from.name() + " the cluster's key directory (--keys DIR or PODLAB_KEYS)";
    else if (hs.last_failure.rfind("authentication", 0) == 0)
      fix = "the ps does not accept this worker's key " + k.client_file + ": add its public key to the ps's authorized_clients";
    else
      fix = "the ps runs without keys, or with other keys than " + k.dir;
    return Status::Config(to.name() + " at " + config().cluster.address(to) + " refused " + from.name() + " (" + hs.last_failure + "): " + fix);
  }

  // A worker's request: waits (at most the connect timeout) for a connection that has completed its
  // handshake, then hands the bytes to zmq without copying them.
  Status send_to_ps(const TaskId& from, const TaskId& to, Endpoint& ep, Bytes bytes) {
    const int k = to.index;
    void* s = ep.dealers.at(static_cast<size_t>(k)).get();
    zmq_msg_t msg;
    wrap(std::move(bytes), &msg);
    const int timeout = connect_timeout_ms_;
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout);
    for (;;) {
      if (zmq_msg_send(&msg, s, ZMQ_DONTWAIT) >= 0) return Status::Ok();
      const int e = zmq_errno();
      if (e == ETERM || closed_.load()) {
        zmq_msg_close(&msg);
        return Status::Network("transport closed");
      }
      if (e != EAGAIN) {
        zmq_msg_close(&msg);
        return Status::Network(zmq_error(from.name() + " -> " + to.name()));
      }
      if (config().interrupt && *config().interrupt) {
        zmq_msg_close(&msg);
        count_lost(from);
        return Status::Error(StatusCode::kInterrupted, from.name() + " interrupted by a signal while waiting for a connection to " + to.name());
      }
      read_dealer_monitor(ep, k);
      const Handshake& hs = ep.handshake[static_cast<size_t>(k)];
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (hs.refused || left <= 0) {
        zmq_msg_close(&msg);
        count_lost(from);
        if (hs.refused) return refused_error(from, to, hs);
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", timeout / 1000.0);
        // Connected before: the ps went away (killed, its machine gone) and has not come back.
        std::string hint = hs.succeeded ? "it was connected, then went away and did not come back: killed, or its machine "
                                          "unreachable? A ps restarted in time restores the chief's last checkpoint"
                                        : "is the ps running and reachable?";
        if (!hs.last_failure.empty()) hint += " last handshake: " + hs.last_failure;
        if (!hs.last_failure.empty() && config().curve.enabled)
          hint += "; with CURVE keys this usually means " + config().curve.dir +
                  "/server.pub is not the public key of the ps's server.key: use the key directory the ps was given";
        return Status::Network("no connection to " + to.name() + " at " + config().cluster.address(to) + " after " + secs + " s (" + hint + ")");
      }
      zmq_pollitem_t items[] = {{s, 0, ZMQ_POLLOUT, 0}, {ep.monitors[static_cast<size_t>(k)].get(), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 2, static_cast<long>(std::min<long long>(left, 100))) < 0 && zmq_errno() == ETERM) {
        zmq_msg_close(&msg);
        return Status::Network("transport closed");
      }
    }
  }

  // A zmq message that owns `bytes` (no copy); once zmq has sent it, the buffer goes to the pool.
  void wrap(Bytes bytes, zmq_msg_t* msg) {
    auto* owned = new Owned{this, std::move(bytes)};
    zmq_msg_init_data(msg, owned->bytes.data(), owned->bytes.size(),
                      [](void*, void* hint) {
                        auto* o = static_cast<Owned*>(hint);
                        o->transport->recycle(std::move(o->bytes));
                        delete o;
                      },
                      owned);
  }

  // Sent buffers come back here (from zmq's I/O thread) for the next messages to be encoded into
  // (reuse_buffer): a task that sends megabyte messages then allocates and page-faults nothing in
  // steady state.
  // Small buffers are not kept (allocating them costs little), and a full pool keeps the largest: a
  // pool full of heartbeats' buffers would never hold a shard again.
  void recycle(Bytes b) {
    if (b.capacity() < kPoolMinBytes) return;
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.size() < kPoolBuffers) {
      pool_.push_back(std::move(b));
      return;
    }
    auto smallest = std::min_element(pool_.begin(), pool_.end(), [](const Bytes& x, const Bytes& y) { return x.capacity() < y.capacity(); });
    if (smallest->capacity() < b.capacity()) *smallest = std::move(b);
  }

 public:
  Bytes reuse_buffer(size_t bytes) override {
    std::lock_guard<std::mutex> lock(pool_mu_);
    for (auto it = pool_.begin(); it != pool_.end(); ++it)
      if (it->capacity() >= bytes) {
        Bytes b = std::move(*it);
        pool_.erase(it);
        return b;
      }
    return Bytes();
  }

 private:
  // One received frame, still in zmq's buffer.
  struct Frame {
    zmq_msg_t msg;
    Frame() { zmq_msg_init(&msg); }
    ~Frame() { zmq_msg_close(&msg); }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;
    const uint8_t* data() { return static_cast<const uint8_t*>(zmq_msg_data(&msg)); }
    size_t size() { return zmq_msg_size(&msg); }
  };

  // Reads every frame of one message (at most kMaxFrames are kept; *count says how many there were).
  // kClosed on ETERM, kTimeout on EAGAIN.
  static constexpr int kMaxFrames = 3;
  ReceiveStatus read_frames(void* s, std::array<Frame, kMaxFrames>* frames, int* count) {
    *count = 0;
    for (;;) {
      Frame spill;
      Frame& f = *count < kMaxFrames ? (*frames)[static_cast<size_t>(*count)] : spill;
      if (zmq_msg_recv(&f.msg, s, ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == ETERM) return ReceiveStatus::kClosed;
        return ReceiveStatus::kTimeout;
      }
      ++*count;
      if (!zmq_msg_more(&f.msg)) return ReceiveStatus::kMessage;
    }
  }

  ReceiveStatus read_router(const TaskId& self, Endpoint& ep, PayloadCheck check, Envelope* out) {
    std::array<Frame, kMaxFrames> frames;
    int count = 0;
    const ReceiveStatus rs = read_frames(ep.router.get(), &frames, &count);
    if (rs != ReceiveStatus::kMessage) return rs;
    const std::string_view id(reinterpret_cast<const char*>(frames[0].data()), frames[0].size());
    // "worker:N#NONCE" (NONCE: 1 to 16 hex digits, one per process), or "client:N" (podlab submit to
    // wait-for-job servers; N its own pick, so two submitters do not take each other's connection).
    const size_t hash = id.find('#');
    const std::string_view name = id.substr(0, hash);
    const bool nonce_ok = hash != std::string::npos && id.size() > hash + 1 && id.size() <= hash + 17 &&
                          std::all_of(id.begin() + static_cast<std::ptrdiff_t>(hash) + 1, id.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    TaskId from{Role::kWorker, -1};
    auto index_after = [&name](size_t prefix) {
      const bool digits = name.size() > prefix && name.size() < prefix + 6 &&
                          std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix), name.end(), [](char c) { return c >= '0' && c <= '9'; });
      int n = 0;
      for (size_t i = prefix; digits && i < name.size(); ++i) n = n * 10 + (name[i] - '0');
      if (!digits) n = -1;
      return n <= 65535 ? n : -1;
    };
    if (name.rfind("worker:", 0) == 0 && nonce_ok) from.index = index_after(7);
    if (id.rfind("client:", 0) == 0) from = TaskId{Role::kClient, index_after(7)};
    // Only the canonical spelling ("worker:007" is refused, as the name in its messages' headers
    // would not match), and a worker with its process nonce.
    if (from.index < 0 || from.name() != (from.role == Role::kClient ? id : name) ||
        (!config().cluster.contains(from) && from.role != Role::kClient))
      return drop(self, "a peer that is not a worker of the cluster (routing id '" + printable(id) + "')");
    if (count != 2) return drop(self, from.name() + ": " + std::to_string(count - 1) + " frames, expected 1");
    if (from.role == Role::kWorker && !which_process(self, ep, from, id, frames[1])) return ReceiveStatus::kTimeout;
    return accept(self, from, frames[1], check, out);
  }

  // Tracks the processes speaking as worker `from` (see the top of this file); false: the message
  // is not to be delivered (a refused process's, or a dead process's read late).
  bool which_process(const TaskId& self, Endpoint& ep, const TaskId& from, std::string_view id, Frame& frame) {
    Endpoint::WorkerProcesses& w = ep.workers[from.index];
    const Clock::time_point now = Clock::now();
    if (w.refused.find(id) != w.refused.end()) {
      refuse_duplicate(self, ep, from, std::string(id), frame);  // again: the first REFUSE may have been lost
      return false;
    }
    if (id == w.current) return true;
    auto it = std::find_if(w.known.begin(), w.known.end(), [&](const Endpoint::Incarnation& i) { return i.id == id; });
    if (it == w.known.end()) {  // a new process: a restart (or another one, which the first will show)
      w.known.push_back({std::string(id), now});
      if (w.known.size() > kKnownProcesses) w.known.erase(w.known.begin());  // long gone, surely
      w.current = id;
      return true;
    }
    const auto current = std::find_if(w.known.begin(), w.known.end(), [&](const Endpoint::Incarnation& i) { return i.id == w.current; });
    if (current != w.known.end() && now - current->first_seen <= kDuplicateGrace) return false;  // an old one's, read late
    // An older process is alive: every process heard after it has its index too.
    std::string refused;
    for (auto later = std::next(it); later != w.known.end(); ++later) {
      w.refused.insert(later->id);
      count_duplicate(self);
      refuse_duplicate(self, ep, from, later->id, frame);
      refused += (refused.empty() ? "" : ", ") + printable(later->id);
    }
    w.known.erase(std::next(it), w.known.end());
    w.current = id;
    std::fprintf(stderr,
                 "podlab: %s: more than one process is running as %s: %s, heard first, trains on; refused %s\n",
                 self.name().c_str(), from.name().c_str(), printable(id).c_str(), refused.c_str());
    return true;
  }

  // Answers the process at routing id `id` REFUSE with a report saying another process has its index.
  void refuse_duplicate(const TaskId& self, Endpoint& ep, const TaskId& from, const std::string& id, Frame& request) {
    MessageHeader h;
    h.type = MessageType::kRefuse;
    h.sender_role = Role::kPs;
    h.sender_index = static_cast<uint16_t>(self.index);
    h.shard = static_cast<uint32_t>(self.index);
    auto asked = decode_header(request.data(), request.size());
    h.seq = asked.ok() ? asked->seq : 0;
    const std::string report =
        "{\"code\":6,\"duplicate\":true,\"message\":\"another process is already running as " + from.name() +
        " (two were started with --index " + std::to_string(from.index) +
        "?): the ps heard the other first, so this one is refused; stop it, or give it an index of its own\"}";
    Bytes b = encode_text_message(h, report);
    void* s = ep.router.get();
    if (zmq_send(s, id.data(), id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return;
    zmq_send(s, b.data(), b.size(), ZMQ_DONTWAIT);
  }

  ReceiveStatus read_dealer(const TaskId& self, int ps, Endpoint& ep, PayloadCheck check, Envelope* out) {
    std::array<Frame, kMaxFrames> frames;
    int count = 0;
    const ReceiveStatus rs = read_frames(ep.dealers[static_cast<size_t>(ps)].get(), &frames, &count);
    if (rs != ReceiveStatus::kMessage) return rs;
    const TaskId from{Role::kPs, ps};
    if (count != 1) return drop(self, from.name() + ": " + std::to_string(count) + " frames, expected 1");
    return accept(self, from, frames[0], check, out);
  }

  // Validates the whole message (payload checksum included, unless the reader checks it while it
  // copies the payload out) where it is, in zmq's buffer, and hands out a view of it: the receiver's
  // own copy (into its gradient or parameters) is the only one.
  ReceiveStatus accept(const TaskId& self, const TaskId& from, Frame& frame, PayloadCheck check, Envelope* out) {
    const bool by_reader = check == PayloadCheck::kByReader;
    auto h = by_reader ? decode_header(frame.data(), frame.size()) : decode_message(frame.data(), frame.size());
    if (!h.ok()) return drop(self, from.name() + ": " + h.status().message());
    if (TaskId{h->sender_role, h->sender_index} != from)
      return drop(self, from.name() + ": " + h->debug_string() + " claims another sender");
    auto held = std::make_shared<Frame>();
    zmq_msg_move(&held->msg, &frame.msg);
    out->from = from;
    out->bytes.clear();
    out->view = held->data();
    out->view_size = held->size();
    out->held = std::move(held);
    out->delay_ms = 0;
    out->payload_unchecked = by_reader && h->count > 0;
    return ReceiveStatus::kMessage;
  }

  // Counts and logs (the first 10) a message that failed validation; the caller keeps waiting.
  ReceiveStatus drop(const TaskId& self, const std::string& why) {
    count_malformed(self);
    if (malformed_.fetch_add(1) < 10)
      std::fprintf(stderr, "podlab: %s: dropped a malformed message from %s\n", self.name().c_str(), why.c_str());
    return ReceiveStatus::kTimeout;
  }

  static std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 32)) out += (c >= 32 && c < 127) ? c : '?';
    return out;
  }

  ContextPtr ctx_;  // first: destroyed after the sockets (the destructor terminates it explicitly)
  std::map<TaskId, std::unique_ptr<Endpoint>> endpoints_;  // fixed after open()
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> malformed_{0};
  int connect_timeout_ms_ = 30000;  // fixed by open(): how long a worker's send waits for its ps
  // This process's part of its workers' routing ids: 16 random hex digits.
  const std::string nonce_ = [] {
    std::random_device rd;
    char b[17];
    std::snprintf(b, sizeof b, "%08x%08x", rd(), rd());
    return std::string(b);
  }();
  static constexpr std::chrono::milliseconds kDuplicateGrace{500};
  static constexpr size_t kKnownProcesses = 16;  // per worker index: restarts and duplicates remembered
  std::set<std::array<uint8_t, 32>> authorized_raw_;  // fixed after open(): decoded curve.authorized
  struct Owned {  // a sent buffer while zmq holds it
    ZmqTransport* transport;
    Bytes bytes;
  };
  static constexpr size_t kPoolBuffers = 4;
  static constexpr size_t kPoolMinBytes = 64 * 1024;
  std::mutex pool_mu_;
  std::vector<Bytes> pool_;  // guarded by pool_mu_: sent buffers to encode into (see recycle())
  // Owned by the guard thread once it runs (open() makes them): the ZAP handler and ROUTER monitors.
  SocketPtr zap_;
  std::vector<std::pair<TaskId, SocketPtr>> router_monitors_;
  int rejected_logged_ = 0, zap_denied_logged_ = 0;  // guard thread only
  std::thread guard_;
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
