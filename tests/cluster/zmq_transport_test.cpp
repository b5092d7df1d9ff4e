// The zmq transport on 127.0.0.1: a ps and a worker endpoint (each its own Transport, as in two
// processes) exchange protocol messages; garbage sent to the ps port by a raw zmq socket is counted
// and dropped while the ps keeps answering; timeouts, shutdown and an absent ps all end promptly.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cluster/transport.h"
#include "tests/cluster/zmq_test_util.h"

namespace podlab {
int64_t zmq_malformed_messages(const Transport& t);  // transport_zmq.cpp
}

using namespace podlab;
using namespace podlab::testing;

namespace {

using std::chrono::milliseconds;
const TaskId kPs0{Role::kPs, 0}, kW0{Role::kWorker, 0}, kW1{Role::kWorker, 1};

// One request from the worker, answered by the ps; checks both ends.
void round_trip(Transport& ps, Transport& worker, uint32_t seq) {
  REQUIRE(worker.send(kW0, kPs0, test_message(MessageType::kPull, kW0, seq)).ok());
  Envelope e;
  REQUIRE(ps.receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(e.from == kW0);
  auto h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->type == MessageType::kPull);
  CHECK(h->seq == seq);
  REQUIRE(ps.send(kPs0, kW0, test_message(MessageType::kParams, kPs0, seq, {1.f, 2.f, 3.f})).ok());
  REQUIRE(worker.receive(kW0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(e.from == kPs0);
  h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->type == MessageType::kParams);
  CHECK(h->count == 3);
  CHECK(h->seq == seq);
}

struct RawSocket {  // a raw zmq DEALER, as a misbehaving peer would use
  void* ctx = zmq_ctx_new();
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  RawSocket(const std::string& id, int port) {
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (!id.empty()) zmq_setsockopt(s, ZMQ_ROUTING_ID, id.data(), id.size());
    const std::string ep = "tcp://127.0.0.1:" + std::to_string(port);
    REQUIRE(zmq_connect(s, ep.c_str()) == 0);
  }
  ~RawSocket() {
    zmq_close(s);
    zmq_ctx_term(ctx);
  }
  void send(const Bytes& b, int flags = 0) { REQUIRE(zmq_send(s, b.data(), b.size(), flags) >= 0); }
};

}  // namespace

TEST_CASE("zmq: a worker and a ps exchange messages over 127.0.0.1", "[cluster][zmq]") {
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0);
  auto worker = zmq_endpoint(spec, kW0);
  for (uint32_t seq = 1; seq <= 20; ++seq) round_trip(*ps, *worker, seq);

  // A large message (a whole shard) arrives intact.
  std::vector<float> big(300000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i);
  REQUIRE(worker->send(kW0, kPs0, test_message(MessageType::kPush, kW0, 21, big)).ok());
  Envelope e;
  REQUIRE(ps->receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  auto h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  std::vector<float> got(h->count);
  read_payload(e.data(), *h, got.data());
  CHECK(got == big);
  // ... as a view of zmq's receive buffer, not a copy; take_bytes() makes one that outlives it.
  CHECK(e.view != nullptr);
  CHECK(e.bytes.empty());
  const Bytes owned = e.take_bytes();
  CHECK(owned.size() == kHeaderBytes + 4 * big.size());
  CHECK(e.size() == 0);
  CHECK(decode_message(owned).ok());
  // The worker's sent buffers come back to encode the next messages into (zmq lets go of one when it
  // has written it and taken up the next message).
  for (uint32_t seq = 22; seq <= 24; ++seq) {
    REQUIRE(worker->send(kW0, kPs0, test_message(MessageType::kPush, kW0, seq, big)).ok());
    REQUIRE(ps->receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  }
  Bytes reused;
  for (int i = 0; i < 100 && reused.capacity() < owned.size(); ++i) {
    reused = worker->reuse_buffer(owned.size());
    if (reused.capacity() < owned.size()) std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(reused.capacity() >= owned.size());

  const auto counters = ps->counters();
  REQUIRE(counters.size() == 1);
  CHECK(counters[0].messages_in == 24);
  CHECK(counters[0].peers.at("worker:0").messages_out == 20);

  // Nothing waiting: a bounded timeout. Only worker <-> ps links exist.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(ps->receive(kPs0, &e, milliseconds(50)) == ReceiveStatus::kTimeout);
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(1000));
  CHECK(worker->send(kW0, kW1, test_message(MessageType::kPull, kW0, 1)).code() == StatusCode::kNetwork);
  CHECK(zmq_malformed_messages(*ps) == 0);

  // shutdown wakes a waiting receiver; later sends fail.
  std::thread waiter([&] { CHECK(ps->receive(kPs0, &e, milliseconds(10000)) == ReceiveStatus::kClosed); });
  std::this_thread::sleep_for(milliseconds(50));
  ps->shutdown();
  waiter.join();
  CHECK(ps->send(kPs0, kW0, test_message(MessageType::kParams, kPs0, 1)).code() == StatusCode::kNetwork);
}

TEST_CASE("zmq: a worker and a ps exchange messages over IPv6 loopback ([::1])", "[cluster][zmq]") {
  // A free port on ::1, or no IPv6 on this machine (some containers): then there is nothing to test.
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof a;
  const bool have_v6 = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!have_v6) {
    WARN("no IPv6 loopback here: skipped");
    return;
  }
  ClusterSpec spec;
  spec.ps = {"[::1]:" + std::to_string(ntohs(a.sin6_port))};
  spec.worker = {"[::1]:1"};
  auto ps = zmq_endpoint(spec, kPs0);
  auto worker = zmq_endpoint(spec, kW0);
  for (uint32_t seq = 1; seq <= 3; ++seq) round_trip(*ps, *worker, seq);
}

TEST_CASE("zmq: garbage sent to the ps port is dropped and the ps keeps serving", "[cluster][zmq]") {
  const int port = free_port();
  const ClusterSpec spec = loopback_spec(port);
  auto ps = zmq_endpoint(spec, kPs0);
  auto worker = zmq_endpoint(spec, kW0);
  round_trip(*ps, *worker, 1);

  {
    RawSocket anonymous("", port);  // not a worker of the cluster
    anonymous.send(test_message(MessageType::kPull, kW1, 1));
    RawSocket alias("worker:01", port);  // worker:1 spelled otherwise: its answers would go astray
    alias.send(test_message(MessageType::kPull, kW1, 1));
    RawSocket bare("worker:1", port);  // a worker's name without its process nonce
    bare.send(test_message(MessageType::kPull, kW1, 1));
    RawSocket raw("worker:1#5eed", port);  // a worker's id, but bad bytes
    raw.send(Bytes{'h', 'e', 'l', 'l', 'o'});                             // shorter than a header
    Bytes truncated = test_message(MessageType::kPush, kW1, 2, {1.f, 2.f});
    truncated.pop_back();
    raw.send(truncated);                                                  // truncated payload
    Bytes flipped = test_message(MessageType::kPush, kW1, 3, {1.f, 2.f});
    flipped[50] ^= 0x40;
    raw.send(flipped);                                                    // payload CRC mismatch
    raw.send(test_message(MessageType::kPull, kW0, 4));                        // claims to be worker:0
    raw.send(Bytes{1, 2}, ZMQ_SNDMORE);
    raw.send(Bytes{3, 4});                                                // two frames
    Bytes noise(4096);
    for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
    raw.send(noise);                                                      // random bytes
    raw.send(test_message(MessageType::kPull, kW1, 5));                        // finally a good one

    Envelope e;
    REQUIRE(ps->receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
    CHECK(e.from == kW1);
    auto h = decode_message(e.data(), e.size());
    REQUIRE(h.ok());
    CHECK(h->seq == 5);
    // The anonymous and alias peers' messages travel on their own connections: drain until seen too.
    for (int i = 0; i < 50 && zmq_malformed_messages(*ps) < 9; ++i)
      CHECK(ps->receive(kPs0, &e, milliseconds(20)) == ReceiveStatus::kTimeout);
    CHECK(zmq_malformed_messages(*ps) == 9);
  }
  // The ps still answers the real worker.
  round_trip(*ps, *worker, 2);
  round_trip(*ps, *worker, 3);
  CHECK(zmq_malformed_messages(*ps) == 9);
  CHECK(zmq_malformed_messages(*worker) == 0);
}

TEST_CASE("zmq: a reader that takes on the payload check (kByReader) finds a corrupt payload while copying",
          "[cluster][zmq]") {
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0);
  auto worker = zmq_endpoint(spec, kW0);
  round_trip(*ps, *worker, 1);
  const std::vector<float> values{1.f, 2.f, 3.f, 4.f, 5.f};
  Bytes corrupt = test_message(MessageType::kParams, kPs0, 2, values);
  corrupt[kHeaderBytes + 5] ^= 0x10;
  Bytes bad_header = test_message(MessageType::kParams, kPs0, 3, values);
  bad_header[20] ^= 0x01;  // the step: the header checksum no longer holds
  REQUIRE(ps->send(kPs0, kW0, corrupt).ok());
  REQUIRE(ps->send(kPs0, kW0, bad_header).ok());
  REQUIRE(ps->send(kPs0, kW0, test_message(MessageType::kParams, kPs0, 4, values)).ok());
  REQUIRE(ps->send(kPs0, kW0, test_message(MessageType::kHeartbeat, kPs0, 5)).ok());

  // The corrupt payload reaches the reader, marked unchecked; copying it out says it is corrupt.
  Envelope e;
  std::vector<float> out(values.size());
  REQUIRE(worker->receive(kW0, &e, milliseconds(5000), PayloadCheck::kByReader) == ReceiveStatus::kMessage);
  CHECK(e.payload_unchecked);
  auto h = decode_header(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->seq == 2);
  CHECK_FALSE(e.copy_payload(*h, out.data()));
  CHECK_FALSE(e.check_payload());
  worker->reject(kW0, "ps:0: payload checksum mismatch");
  CHECK(zmq_malformed_messages(*worker) == 1);
  CHECK(worker->counters()[0].malformed_in == 1);
  // A bad header is still the transport's to drop; the good message after it copies out whole.
  REQUIRE(worker->receive(kW0, &e, milliseconds(5000), PayloadCheck::kByReader) == ReceiveStatus::kMessage);
  h = decode_header(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->seq == 4);
  CHECK(e.check_payload());
  CHECK(e.copy_payload(*h, out.data()));
  CHECK(out == values);
  CHECK(zmq_malformed_messages(*worker) == 2);
  // A message without floats has nothing left to check.
  REQUIRE(worker->receive(kW0, &e, milliseconds(5000), PayloadCheck::kByReader) == ReceiveStatus::kMessage);
  CHECK_FALSE(e.payload_unchecked);

  // By default the transport checks the payload itself: the corrupt message never reaches the reader.
  REQUIRE(ps->send(kPs0, kW0, corrupt).ok());
  REQUIRE(ps->send(kPs0, kW0, test_message(MessageType::kParams, kPs0, 6, values)).ok());
  REQUIRE(worker->receive(kW0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK_FALSE(e.payload_unchecked);
  h = decode_header(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->seq == 6);
  CHECK(zmq_malformed_messages(*worker) == 3);
}

TEST_CASE("zmq: a worker whose ps never comes up gets a network error, not a hang", "[cluster][zmq]") {
  ::setenv("PODLAB_CONNECT_TIMEOUT_MS", "300", 1);
  const ClusterSpec spec = loopback_spec(free_port());  // nobody listens there
  auto worker = zmq_endpoint(spec, kW0);
  ::unsetenv("PODLAB_CONNECT_TIMEOUT_MS");
  const auto t0 = std::chrono::steady_clock::now();
  const Status st = worker->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 1));
  CHECK(st.code() == StatusCode::kNetwork);
  CHECK(st.message().find("ps:0") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(3000));
  Envelope e;
  CHECK(worker->receive(kW0, &e, milliseconds(20)) == ReceiveStatus::kTimeout);

  // Two ps tasks cannot listen on one port.
  auto first = make_transport("zmq", TransportConfig{spec, {kPs0}, {}, {}, {}, 1, {}, {}});
  REQUIRE(first.ok());
  auto second = make_transport("zmq", TransportConfig{spec, {kPs0}, {}, {}, {}, 1, {}, {}});
  CHECK(second.status().code() == StatusCode::kNetwork);
}

namespace {

// What a later process with worker:0's index gets once the ps has heard an earlier one again.
void expect_refused_as_duplicate(Transport& later) {
  Envelope e;
  REQUIRE(later.receive(kW0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  auto h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->type == MessageType::kRefuse);
  const std::string text = read_text(e.data(), *h);
  CHECK(text.find("\"duplicate\":true") != std::string::npos);
  CHECK(text.find("\"code\":6") != std::string::npos);
  CHECK(text.find("another process is already running as worker:0") != std::string::npos);
}

// After the refusals: answers to worker:0 reach `first`, and the refused ones' messages are not delivered.
void expect_first_kept(Transport& ps, Transport& first, std::initializer_list<Transport*> refused) {
  Envelope e;
  REQUIRE(ps.send(kPs0, kW0, test_message(MessageType::kParams, kPs0, 2, {1.f})).ok());
  REQUIRE(first.receive(kW0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(decode_message(e.data(), e.size())->seq == 2);
  for (Transport* later : refused) {
    REQUIRE(later->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 3)).ok());
    CHECK(ps.receive(kPs0, &e, milliseconds(300)) == ReceiveStatus::kTimeout);
  }
  round_trip(ps, first, 3);
}

}  // namespace

// Two processes started with one worker index: the ps answers the newer (a restart looks the same),
// until the first one speaks again after the grace: then the second gets REFUSE with a report
// ("duplicate": true, code 6), its messages are ignored, and the first one is answered again.
TEST_CASE("zmq: a second process with a worker's index is refused; the first trains on", "[cluster][zmq]") {
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0);
  auto first = zmq_endpoint(spec, kW0);
  round_trip(*ps, *first, 1);
  auto second = zmq_endpoint(spec, kW0);
  round_trip(*ps, *second, 1);  // like a restart: the ps answers the newcomer
  std::this_thread::sleep_for(milliseconds(700));
  // The first process speaks again: delivered, and the second is refused.
  REQUIRE(first->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 2)).ok());
  Envelope e;
  REQUIRE(ps->receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(decode_message(e.data(), e.size())->seq == 2);
  expect_refused_as_duplicate(*second);
  expect_first_kept(*ps, *first, {second.get()});
  CHECK(ps->counters().at(0).duplicates_refused == 1);
}

// A restart: the old process's last message, read after the new one's first within the grace, is
// not taken for a second live process.
TEST_CASE("zmq: a restarted worker is not taken for a second process", "[cluster][zmq]") {
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0);
  auto old_process = zmq_endpoint(spec, kW0);
  round_trip(*ps, *old_process, 1);
  REQUIRE(old_process->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 2)).ok());  // unread at the ps yet
  std::this_thread::sleep_for(milliseconds(100));
  old_process.reset();  // killed
  auto restarted = zmq_endpoint(spec, kW0);
  REQUIRE(restarted->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 1)).ok());
  // The ps reads both (fair-queued: either first); the old one's is dropped or delivered, never a refusal.
  Envelope e;
  for (int i = 0; i < 20; ++i) (void)ps->receive(kPs0, &e, milliseconds(50));
  REQUIRE(ps->send(kPs0, kW0, test_message(MessageType::kParams, kPs0, 1, {1.f})).ok());
  REQUIRE(restarted->receive(kW0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  auto h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->type == MessageType::kParams);
  round_trip(*ps, *restarted, 2);
  CHECK(ps->counters().at(0).duplicates_refused == 0);
}

// Three processes with one index, the second and third heard within the grace of each other: once
// the first speaks again, both later ones are refused (with only the last process remembered, the
// first was taken for a new one and the three took turns).
TEST_CASE("zmq: with three processes of one index, every one after the first is refused", "[cluster][zmq]") {
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0);
  auto first = zmq_endpoint(spec, kW0);
  round_trip(*ps, *first, 1);
  auto second = zmq_endpoint(spec, kW0);
  round_trip(*ps, *second, 1);
  auto third = zmq_endpoint(spec, kW0);
  round_trip(*ps, *third, 1);
  std::this_thread::sleep_for(milliseconds(700));
  REQUIRE(first->send(kW0, kPs0, test_message(MessageType::kPull, kW0, 2)).ok());
  Envelope e;
  REQUIRE(ps->receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(decode_message(e.data(), e.size())->seq == 2);
  expect_refused_as_duplicate(*second);
  expect_refused_as_duplicate(*third);
  expect_first_kept(*ps, *first, {second.get(), third.get()});
  CHECK(ps->counters().at(0).duplicates_refused == 2);
}
