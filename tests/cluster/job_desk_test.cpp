// JobDesk (wait-for-job servers): a job handed in by the client, and what a client polling for the
// result hears while it runs: HEARTBEAT, with the job's progress as text once the ps has a step.
#include <catch2/catch.hpp>

#include <chrono>

#include "cluster/job_desk.h"

using namespace podlab;

namespace {

const TaskId kPs0{Role::kPs, 0}, kClient{Role::kClient, 0};
constexpr int64_t kJobId = 1795741763702;

MessageHeader client_request(MessageType type, uint32_t seq) {
  MessageHeader h;
  h.type = type;
  h.sender_role = Role::kClient;
  h.step = kJobId;
  h.seq = seq;
  return h;
}

// Hands `bytes` from the client to the desk and returns the ps's answer, decoded and range-checked as
// `podlab submit` does.
std::pair<MessageHeader, Bytes> ask(Transport& t, JobDesk& desk, Bytes bytes) {
  Envelope in;
  REQUIRE(t.send(kClient, kPs0, std::move(bytes)).ok());
  REQUIRE(t.receive(kPs0, &in, std::chrono::milliseconds(1000)) == ReceiveStatus::kMessage);
  auto h = decode_message(in.bytes);
  REQUIRE(h.ok());
  REQUIRE(desk.handle(in, *h));
  Envelope out;
  REQUIRE(t.receive(kClient, &out, std::chrono::milliseconds(1000)) == ReceiveStatus::kMessage);
  auto a = decode_message(out.bytes);
  REQUIRE(a.ok());
  REQUIRE(check_message_range(*a, 1, 0).ok());
  return {*a, std::move(out.bytes)};
}

}  // namespace

TEST_CASE("a client polling a running job hears its progress", "[cluster]") {
  TransportConfig c;
  c.cluster = local_cluster_spec(1, 1);
  c.local = {kPs0, kClient};
  auto t = make_transport("inproc", c);
  REQUIRE(t.ok());
  JobDesk desk(t->get(), kPs0);

  const std::string order = R"({"id": 1795741763702, "args": ["--epochs", "2"]})";
  auto [taken, taken_bytes] = ask(**t, desk, encode_text_message(client_request(MessageType::kJob, 1), order));
  CHECK(taken.type == MessageType::kJob);
  CHECK(taken.aux == 0);  // taken, not busy
  REQUIRE(desk.has_new_job());
  CHECK(desk.start_job().text == order);

  // Running, before the first step: a plain HEARTBEAT.
  auto [before, before_bytes] = ask(**t, desk, encode_message(client_request(MessageType::kResult, 2), nullptr));
  CHECK(before.type == MessageType::kHeartbeat);
  CHECK(before.count == 0);

  desk.set_progress(120, 1200);
  auto [during, during_bytes] = ask(**t, desk, encode_message(client_request(MessageType::kResult, 3), nullptr));
  CHECK(during.type == MessageType::kHeartbeat);
  CHECK(during.seq == 3);
  CHECK(read_text(during_bytes.data(), during) == R"({"step":120,"total_steps":1200})");

  // A worker may not send text in a HEARTBEAT.
  MessageHeader forged = during;
  forged.sender_role = Role::kWorker;
  CHECK(!check_message_range(forged, 1, 0).ok());
}
