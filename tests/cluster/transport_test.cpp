// The inproc transport: delivery and counters, simulated latency/bandwidth/loss (deterministic for
// a seed), silent workers, slow workers, and shutdown waking receivers.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "cluster/transport.h"

using namespace podlab;

namespace {

const TaskId kPs0{Role::kPs, 0}, kW0{Role::kWorker, 0}, kW1{Role::kWorker, 1};
using std::chrono::milliseconds;

std::unique_ptr<Transport> inproc(TransportConfig c) {
  c.cluster = local_cluster_spec(1, 2);
  c.local = c.cluster.tasks();
  auto t = make_transport("inproc", c);
  REQUIRE(t.ok());
  return std::move(*t);
}

Bytes bytes_of(size_t n, uint8_t fill) { return Bytes(n, fill); }

const EndpointCounters& counters_of(const std::vector<EndpointCounters>& all, const std::string& name) {
  for (const auto& c : all)
    if (c.name == name) return c;
  FAIL("no counters for " << name);
  return all.front();
}

}  // namespace

TEST_CASE("inproc delivers in order and counts bytes per peer", "[cluster]") {
  auto t = inproc({});
  for (uint8_t i = 0; i < 5; ++i) REQUIRE(t->send(kW0, kPs0, bytes_of(10 + i, i)).ok());
  REQUIRE(t->send(kW1, kPs0, bytes_of(100, 9)).ok());
  Envelope e;
  for (uint8_t i = 0; i < 5; ++i) {
    REQUIRE(t->receive(kPs0, &e, milliseconds(100)) == ReceiveStatus::kMessage);
    CHECK(e.from == kW0);
    CHECK(e.bytes == bytes_of(10 + i, i));
  }
  REQUIRE(t->receive(kPs0, &e, milliseconds(100)) == ReceiveStatus::kMessage);
  CHECK(e.from == kW1);
  CHECK(t->receive(kPs0, &e, milliseconds(5)) == ReceiveStatus::kTimeout);

  const auto all = t->counters();
  const EndpointCounters& ps = counters_of(all, "ps:0");
  CHECK(ps.messages_in == 6);
  CHECK(ps.bytes_in == 10 + 11 + 12 + 13 + 14 + 100);
  CHECK(ps.peers.at("worker:1").bytes_in == 100);
  CHECK(ps.max_queue_depth == 6);
  CHECK(ps.queue_depth == 0);
  CHECK(counters_of(all, "worker:0").bytes_out == 60);

  CHECK(t->send(kW0, TaskId{Role::kPs, 3}, bytes_of(1, 0)).code() == StatusCode::kNetwork);
  CHECK(make_transport("carrier-pigeon", t->config()).status().code() == StatusCode::kUsage);
  CHECK(make_transport("carrier-pigeon", t->config()).status().code() == StatusCode::kUsage);
}

TEST_CASE("simulated latency and bandwidth show in delivery time and counters", "[cluster]") {
  TransportConfig c;
  c.link.latency_ms = 20;
  c.link.bandwidth_mbps = 80;  // 10 000 bytes take 1 ms
  auto t = inproc(c);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(t->send(kW0, kPs0, bytes_of(100000, 1)).ok());  // 10 ms on the wire + 20 ms latency
  Envelope e;
  CHECK(t->receive(kPs0, &e, milliseconds(5)) == ReceiveStatus::kTimeout);  // not there yet
  REQUIRE(t->receive(kPs0, &e, milliseconds(1000)) == ReceiveStatus::kMessage);
  const double waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CHECK(waited >= 29.0);
  CHECK(e.delay_ms >= 29.0);
  CHECK(counters_of(t->counters(), "ps:0").delay_ms_in >= 29.0);
}

TEST_CASE("simulated loss is counted and the same for the same seed", "[cluster]") {
  auto lost_pattern = [](uint64_t seed) {
    TransportConfig c;
    c.link.loss = 0.3;
    c.seed = seed;
    auto t = inproc(c);
    std::vector<int> got;
    for (int i = 0; i < 200; ++i) REQUIRE(t->send(kW0, kPs0, bytes_of(1, static_cast<uint8_t>(i))).ok());
    Envelope e;
    while (t->receive(kPs0, &e, milliseconds(1)) == ReceiveStatus::kMessage) got.push_back(e.bytes[0]);
    const auto& w = counters_of(t->counters(), "worker:0");
    CHECK(w.messages_out == 200);
    CHECK(w.lost_out == 200 - static_cast<int64_t>(got.size()));
    return got;
  };
  const auto a = lost_pattern(7), b = lost_pattern(7), c = lost_pattern(8);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a.size() > 100);
  CHECK(a.size() < 180);
}

TEST_CASE("a silenced worker's messages vanish; a slow worker is held back", "[cluster]") {
  TransportConfig c;
  c.worker_silent_after[1] = 2;
  c.worker_slowdown = {3.0};
  auto t = inproc(c);
  for (int i = 0; i < 5; ++i) REQUIRE(t->send(kW1, kPs0, bytes_of(4, 1)).ok());
  Envelope e;
  int got = 0;
  while (t->receive(kPs0, &e, milliseconds(1)) == ReceiveStatus::kMessage) ++got;
  CHECK(got == 2);
  CHECK(counters_of(t->counters(), "worker:1").lost_out == 3);

  // worker 0 "computes" 20 ms between a receive and its send: factor 3 holds it 40 ms more.
  REQUIRE(t->send(kPs0, kW0, bytes_of(4, 1)).ok());
  REQUIRE(t->receive(kW0, &e, milliseconds(100)) == ReceiveStatus::kMessage);
  std::this_thread::sleep_for(milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(t->send(kW0, kPs0, bytes_of(4, 1)).ok());
  const double held = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CHECK(held >= 35.0);
  CHECK(counters_of(t->counters(), "worker:0").slowdown_ms >= 35.0);
}

TEST_CASE("shutdown wakes a blocked receiver", "[cluster]") {
  auto t = inproc({});
  ReceiveStatus got = ReceiveStatus::kMessage;
  std::thread waiter([&] {
    Envelope e;
    got = t->receive(kPs0, &e, milliseconds(10000));
  });
  std::this_thread::sleep_for(milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  t->shutdown();
  waiter.join();
  CHECK(got == ReceiveStatus::kClosed);
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(1000));
  CHECK(!t->send(kW0, kPs0, bytes_of(1, 0)).ok());
}
