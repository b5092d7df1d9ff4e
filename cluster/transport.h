// Transport: byte messages between named tasks (TaskId), picked by name like ps-lite's Van::Create
// or leveldb's Env / NewMemEnv: this header exposes the interface and one factory; implementations
// live in anonymous namespaces in transport_<name>.cpp.
//   "inproc"  every task is a thread in this process; queues in memory, with a simulated network
//             (latency, jitter, bandwidth, loss), slow workers and silent (dead) workers for lessons
//             and tests. One Transport serves every task.
//   "zmq"     one task per process over ZeroMQ, optionally CURVE-encrypted and authenticated;
//             only transport_zmq.cpp includes zmq.h for sockets (curve_keys.cpp uses its key helpers).
// The base class does the shared work (endpoint checks, counters); implementations fill in
// deliver() and wait_for(). Delivery is at most once and in order per (sender, receiver) link;
// lost messages are the caller's to retry (workers do).
// Checking (protocol.h): a transport whose bytes cross a network (zmq) hands out only messages that
// decode_message() accepts, payload checksum included (zmq checks them in its receive buffer and hands
// out a view of it, no copy); the in-process transport hands out what was sent, since those bytes
// never leave memory. Receivers decode with decode_header(), which repeats
// every header check but not the payload checksum, so a payload is checksummed once per trip.
// A receiver that copies the payload out anyway may take the payload check on itself
// (PayloadCheck::kByReader): the transport then checks everything but the payload checksum, and the
// receiver reads the payload only through Envelope::copy_payload() / check_payload(), which compute
// the checksum while copying (one pass over the floats instead of two) and report a mismatch, which
// the receiver hands to Transport::reject() and otherwise ignores, as the transport would have.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/cluster_spec.h"
#include "cluster/curve_keys.h"
#include "cluster/protocol.h"

namespace podlab {

// The simulated network of the inproc transport (ignored by real transports).
struct LinkModel {
  double latency_ms = 0;      // one-way delay of every message
  double jitter_ms = 0;       // plus uniform(-jitter, +jitter), never below zero; order is kept
  double bandwidth_mbps = 0;  // megabits per second per link (0: unlimited); messages queue behind each other
  double loss = 0;            // probability in [0, 1) that a message silently disappears
};

// Faults switched on and off while the cluster runs (the GUI's fault buttons); inproc only. Shared
// by the owner and the transport, read at every send; all fields may change at any time.
struct LiveFaults {
  static constexpr int kMaxTasks = kMaxTasksPerRole;  // per role: every task can be faulted live
  std::atomic<double> loss{0};          // probability a message vanishes, on top of LinkModel::loss
  std::array<std::atomic<double>, kMaxTasks> worker_slowdown{};  // > 1: worker i computes that much slower
  std::array<std::atomic<bool>, kMaxTasks> worker_killed{};      // worker i's messages vanish (a crash)
  std::array<std::atomic<bool>, kMaxTasks> ps_killed{};          // ps k's messages vanish
};

struct TransportConfig {
  ClusterSpec cluster;                  // the tasks that exist (and, for zmq, their addresses)
  std::vector<TaskId> local;            // tasks served by this transport (inproc: all of them)
  LinkModel link;                       // inproc: applied to every link
  std::vector<double> worker_slowdown;  // inproc: worker i computes slowdown[i] times slower (>= 1;
                                        //   missing entries are 1). Applied when the worker sends.
  std::map<int, int64_t> worker_silent_after;  // inproc: worker i's messages after its first N vanish
                                               //   (a simulated crash that never closes the socket)
  uint64_t seed = 1;                    // loss and jitter draw from per-link generators seeded by it
  std::shared_ptr<LiveFaults> live;     // inproc, optional: faults changed while running
  CurveKeys curve;                      // zmq: with `enabled`, every link is CURVE-encrypted and a ps
                                        //   accepts only the client keys in curve.authorized (ps tasks
                                        //   need the server pair, workers a client pair + server public)
  const volatile std::sig_atomic_t* interrupt = nullptr;  // zmq, optional: once *interrupt is set, a
                                        //   send waiting for its ps connection gives up (kInterrupted)
};

// Counters for one local task. `peers` is keyed by the peer's TaskId::name().
struct PeerCounters {
  int64_t messages_out = 0, bytes_out = 0, messages_in = 0, bytes_in = 0;
};
struct EndpointCounters {
  std::string name;
  int64_t messages_out = 0, bytes_out = 0;  // accepted by send(), including those later lost
  int64_t messages_in = 0, bytes_in = 0;    // handed out by receive()
  int64_t lost_out = 0;                     // sent but dropped by the (simulated) network
  double delay_ms_in = 0;                   // total simulated delay of received messages
  double slowdown_ms = 0;                   // total time this task was held back as a slow worker
  size_t queue_depth = 0, max_queue_depth = 0;  // messages waiting for this task (incl. in flight)
  int64_t malformed_in = 0;                 // zmq: received, failed validation, dropped unseen
  int64_t rejected_peers = 0;               // zmq ps: connections refused in the handshake (an unknown
                                            //   CURVE key, no CURVE, not ZeroMQ at all)
  int64_t duplicates_refused = 0;           // zmq ps: processes refused for a worker index another one runs
                                            //   with (each first counted as a restart by the ps)
  std::map<std::string, PeerCounters> peers;
};

// A received message. Its bytes are either in `bytes` (inproc hands over the sender's buffer) or,
// copied nowhere, in the transport's own receive buffer (zmq: the zmq message), which `held` keeps
// alive until the Envelope is destroyed or receives again. Read it through data() and size().
struct Envelope {
  TaskId from;
  Bytes bytes;                    // empty when the message is a view
  const uint8_t* view = nullptr;  // when set: the message (view_size bytes), kept alive by `held`
  size_t view_size = 0;
  std::shared_ptr<void> held;
  double delay_ms = 0;  // simulated network delay it went through (0 for real transports)
  bool payload_unchecked = false;  // received with PayloadCheck::kByReader and its checksum not yet seen

  const uint8_t* data() const { return view ? view : bytes.data(); }
  size_t size() const { return view ? view_size : bytes.size(); }
  // The message in a buffer of its own (moved out of `bytes`, or a copy of the view); the Envelope
  // is empty afterwards.
  Bytes take_bytes();
  // A buffer the receiver may encode its next message into: `bytes` when it is one (the receiver
  // has read the payload), else empty. The Envelope's `bytes` is moved out.
  Bytes reusable_buffer() { return std::move(bytes); }
  // For messages received with PayloadCheck::kByReader, after decode_header() accepted `header`:
  // copies the header.count payload floats to `out` and returns whether the payload checksum holds
  // (always true when the transport checked it already). On false, `out` holds garbage.
  bool copy_payload(const MessageHeader& header, float* out) const;
  // Whether the payload checksum holds, for a reader that uses the payload where it lies.
  bool check_payload() const;
};

enum class ReceiveStatus { kMessage, kTimeout, kClosed };
// Who checks a received message's payload checksum (see the top of this file).
enum class PayloadCheck { kTransport, kByReader };

class Transport {
 public:
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  const std::string& name() const { return name_; }
  const TransportConfig& config() const { return config_; }

  // Queues `bytes` from local task `from` to `to`. Thread-safe; never waits for the receiver (but a
  // slow worker is held back here, see TransportConfig). Errors: unknown task, not local, closed.
  Status send(const TaskId& from, const TaskId& to, Bytes bytes);
  // Waits up to `timeout` for the next message to local task `self`. Thread-safe; one receiver per
  // task. kClosed once shutdown() was called. With kByReader, `out` may hold a message whose payload
  // checksum is still to be checked (Envelope::payload_unchecked).
  ReceiveStatus receive(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout,
                        PayloadCheck check = PayloadCheck::kTransport);
  // A message the receiver found malformed (a payload checksum it checked): counted as malformed_in
  // and logged (the first few), as the transport does with the messages it drops itself.
  virtual void reject(const TaskId& self, const std::string& why) { count_malformed(self); (void)why; }
  // Wakes every receiver; later sends fail and receives return kClosed. Idempotent.
  virtual void shutdown() = 0;
  // A buffer of at least `bytes` capacity to encode a message into, recycled from messages this
  // transport has sent (zmq: once its I/O thread is done with them), or empty when it has none (then
  // the encoder allocates). Saves page faults on megabyte messages. Thread-safe.
  virtual Bytes reuse_buffer(size_t bytes) {
    (void)bytes;
    return Bytes();
  }

  // A copy of every local task's counters, in cluster order.
  std::vector<EndpointCounters> counters() const;

 protected:
  Transport(std::string name, TransportConfig config);
  // Hands the message to the network. `bytes` is already counted as sent.
  virtual Status deliver(const TaskId& from, const TaskId& to, Bytes bytes) = 0;
  // Waits for the next message to `self` (see receive()).
  virtual ReceiveStatus wait_for(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout, PayloadCheck check) = 0;

  // For implementations: a message lost on the way, queue depth changes, slow-worker hold-back.
  void count_lost(const TaskId& from);
  void count_queue_depth(const TaskId& self, size_t depth);
  void count_slowdown(const TaskId& self, double ms);
  void count_malformed(const TaskId& self);
  void count_rejected(const TaskId& self);
  void count_duplicate(const TaskId& self);

 private:
  EndpointCounters* counters_for(const TaskId& t);  // requires mu_
  std::string name_;
  TransportConfig config_;
  mutable std::mutex mu_;
  std::map<TaskId, EndpointCounters> counters_;  // guarded by mu_; keys fixed at construction
};

// "inproc" or "zmq". Errors: kUsage (unknown name or bad simulation values), kConfig (bad cluster,
// CURVE keys without CURVE support), kNetwork (zmq cannot bind or connect).
Result<std::unique_ptr<Transport>> make_transport(const std::string& name, const TransportConfig& config);

}  // namespace podlab
