// JobDesk (wait-for-job servers): a job handed in by the client, and what a client polling for the
// result hears while it runs: HEARTBEAT, with the job's progress as text once the ps has a step.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

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

// Hands `bytes` from `from` (a client or a worker) to the desk and returns the ps's answer, decoded and
// range-checked as `podlab submit` does.
std::pair<MessageHeader, Bytes> ask(Transport& t, JobDesk& desk, Bytes bytes, const TaskId& from = kClient) {
  Envelope in;
  REQUIRE(t.send(from, kPs0, std::move(bytes)).ok());
  REQUIRE(t.receive(kPs0, &in, std::chrono::milliseconds(1000)) == ReceiveStatus::kMessage);
  auto h = decode_message(in.bytes);
  REQUIRE(h.ok());
  REQUIRE(desk.handle(in, *h));
  Envelope out;
  REQUIRE(t.receive(from, &out, std::chrono::milliseconds(1000)) == ReceiveStatus::kMessage);
  auto a = decode_message(out.bytes);
  REQUIRE(a.ok());
  REQUIRE(check_message_range(*a, 1, 0).ok());
  return {*a, std::move(out.bytes)};
}

// An in-process transport for ps 0's desk and the `local` tasks of a cluster of 1 ps and `workers`.
std::unique_ptr<Transport> desk_transport(int workers, std::vector<TaskId> local) {
  TransportConfig c;
  c.cluster = local_cluster_spec(1, workers);
  c.local = std::move(local);
  auto t = make_transport("inproc", c);
  REQUIRE(t.ok());
  return std::move(*t);
}

}  // namespace

TEST_CASE("a client polling a running job hears its progress", "[cluster]") {
  auto t = desk_transport(1, {kPs0, kClient});
  JobDesk desk(t.get(), kPs0);

  const std::string order = R"({"id": 1795741763702, "args": ["--epochs", "2"]})";
  auto [taken, taken_bytes] = ask(*t, desk, encode_text_message(client_request(MessageType::kJob, 1), order));
  CHECK(taken.type == MessageType::kJob);
  CHECK(taken.aux == 0);  // taken, not busy
  REQUIRE(desk.has_new_job());
  CHECK(desk.start_job().text == order);

  // Running, before the first step: a plain HEARTBEAT.
  auto [before, before_bytes] = ask(*t, desk, encode_message(client_request(MessageType::kResult, 2), nullptr));
  CHECK(before.type == MessageType::kHeartbeat);
  CHECK(before.count == 0);

  desk.set_progress(120, 1200);
  auto [during, during_bytes] = ask(*t, desk, encode_message(client_request(MessageType::kResult, 3), nullptr));
  CHECK(during.type == MessageType::kHeartbeat);
  CHECK(during.seq == 3);
  CHECK(read_text(during_bytes.data(), during) == R"({"step":120,"total_steps":1200})");

  // A worker may not send text in a HEARTBEAT.
  MessageHeader forged = during;
  forged.sender_role = Role::kWorker;
  CHECK(!check_message_range(forged, 1, 0).ok());
}

TEST_CASE("ps 0's desk lists the workers that failed a job, and an ended job keeps the first failure", "[cluster]") {
  const TaskId chief{Role::kWorker, 0}, w1{Role::kWorker, 1}, w2{Role::kWorker, 2};
  auto t = desk_transport(3, {kPs0, kClient, chief, w1, w2});
  JobDesk desk(t.get(), kPs0);
  const std::string order = R"({"id": 1795741763702, "args": ["--epochs", "2"]})";
  ask(*t, desk, encode_text_message(client_request(MessageType::kJob, 1), order));
  desk.start_job();
  // A worker's report on job `id` to ps 0, handed to the desk as PsServer does; returns the desk's
  // answer type.
  auto report = [&](const TaskId& from, const std::string& text, int64_t id = kJobId) {
    MessageHeader h;
    h.type = MessageType::kResult;
    h.sender_role = Role::kWorker;
    h.sender_index = static_cast<uint16_t>(from.index);
    h.step = id;
    h.seq = 7;
    return ask(*t, desk, encode_text_message(h, text), from).first.type;
  };
  auto result = [&] {
    auto [h, bytes] = ask(*t, desk, encode_message(client_request(MessageType::kResult, 9), nullptr));
    REQUIRE(h.type == MessageType::kResult);
    REQUIRE(h.count > 0);
    return read_text(bytes.data(), h);
  };
  const std::string w1_failed = R"({"task":"worker:1","code":4,"message":"worker:1: data/train-images: wrong magic"})";
  CHECK(report(w1, w1_failed) == MessageType::kResult);
  CHECK(report(w1, w1_failed) == MessageType::kResult);  // a re-sent report counts once
  CHECK(desk.workers_failed() == 1);
  CHECK_FALSE(desk.job_over());

  SECTION("the job trains on: the chief's report lists the failure") {
    report(chief, R"({"task":"worker:0","code":0,"message":"","chief":{"steps":20}})");
    CHECK(desk.job_over());
    CHECK(result() ==
          R"({"chief":{"steps":20},"code":0,"message":"","task":"worker:0","workers_failed":[{"code":4,"message":"worker:1: data/train-images: wrong magic","task":"worker:1"}]})");
  }
  SECTION("the job cannot train on: ended, its result is the first failure whatever comes later") {
    desk.abort_job("sync training cannot go on without 1 of its 3 workers");
    CHECK(desk.job_over());
    report(w2, R"({"task":"worker:2","code":6,"message":"lost ps:0"})");  // listed, once
    report(w2, R"({"task":"worker:2","code":6,"message":"lost ps:0"})");
    report(chief, R"({"task":"worker:0","code":0,"message":"","chief":{"steps":3}})");  // not the result
    CHECK(result() ==
          R"({"code":4,"message":"worker:1: data/train-images: wrong magic","reason":"sync training cannot go on without 1 of its 3 workers","task":"worker:1","workers_failed":[{"code":4,"message":"worker:1: data/train-images: wrong magic","task":"worker:1"},{"code":6,"message":"lost ps:0","task":"worker:2"}]})");
  }
  SECTION("reports on another job are only acknowledged") {
    // An earlier job, which these workers were still finishing.
    report(chief, R"({"task":"worker:0","code":0,"message":"","chief":{"steps":20}})", kJobId - 1);
    report(w2, R"({"task":"worker:2","code":3,"message":"refused"})", kJobId - 1);
    CHECK_FALSE(desk.job_over());
    CHECK(desk.workers_failed() == 1);
  }
  SECTION("a report that is not JSON is kept as the failure's message") {
    report(w2, "segfault");
    CHECK(desk.workers_failed() == 2);
    desk.abort_job("sync training cannot go on without 1 of its 3 workers");
    CHECK(result().find(R"({"code":1,"message":"segfault","task":"worker:2"})") != std::string::npos);
  }
}

TEST_CASE("ps 0's queue admits one job at a time, in the order clients came, and forgets clients that left",
          "[cluster]") {
  const TaskId a{Role::kClient, 1}, b{Role::kClient, 2}, d{Role::kClient, 3};
  auto t = desk_transport(1, {kPs0, a, b, d});
  JobDesk desk(t.get(), kPs0, std::chrono::milliseconds(300));
  // Client `from` sends job `id`'s ticket (no text) or order (text); returns ps 0's answer: the type,
  // JOB's aux, and HEARTBEAT's text.
  struct Answer {
    MessageType type;
    uint32_t aux;
    std::string text;
  };
  auto send = [&](const TaskId& from, int64_t id, const std::string& order) {
    MessageHeader h;
    h.type = MessageType::kJob;
    h.sender_role = Role::kClient;
    h.sender_index = static_cast<uint16_t>(from.index);
    h.step = id;
    h.seq = 1;
    auto [r, bytes] = ask(*t, desk, order.empty() ? encode_message(h, nullptr) : encode_text_message(h, order), from);
    REQUIRE(r.step == id);
    return Answer{r.type, r.aux, read_text(bytes.data(), r)};
  };
  auto admitted = [](const Answer& x) { return x.type == MessageType::kJob && x.aux == 0; };
  auto ahead = [](const Answer& x) { return x.type == MessageType::kHeartbeat ? x.text : "not queued"; };
  const std::string order = R"({"id": 1, "args": []})";

  CHECK(admitted(send(a, 101, "")));                      // free: admitted at once
  CHECK(ahead(send(b, 202, "")) == R"({"ahead":1})");     // behind the admitted job
  CHECK(ahead(send(d, 303, "")) == R"({"ahead":2})");
  CHECK(send(d, 303, order).aux == 1);                    // an order out of turn: busy
  CHECK(admitted(send(a, 101, "")));                      // the admitted client keeps its turn
  CHECK(admitted(send(a, 101, order)));                   // ... and hands in its job
  REQUIRE(desk.has_new_job());
  CHECK(desk.start_job().id == 101);
  CHECK(ahead(send(b, 202, "")) == R"({"ahead":1})");     // the running job is ahead
  CHECK(ahead(send(d, 303, "")) == R"({"ahead":2})");
  desk.finish_job();
  CHECK(ahead(send(d, 303, "")) == R"({"ahead":1})");     // not first in line
  CHECK(admitted(send(b, 202, "")));
  // b goes away without handing its job in; d keeps asking: b's admission expires, d's turn comes.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (admitted(send(d, 303, ""))) break;
  }
  CHECK(admitted(send(d, 303, "")));
  CHECK(send(b, 202, order).aux == 1);  // too late: busy
  CHECK(admitted(send(d, 303, order)));
}

TEST_CASE("the desk drops and counts what is not a job message for it", "[cluster]") {
  auto t = desk_transport(1, {kPs0, kClient});
  JobDesk desk(t.get(), kPs0);
  auto hand_in = [&](const MessageHeader& h) {
    REQUIRE(t->send(kClient, kPs0, encode_message(h, nullptr)).ok());
    Envelope in;
    REQUIRE(t->receive(kPs0, &in, std::chrono::milliseconds(1000)) == ReceiveStatus::kMessage);
    auto d = decode_message(in.bytes);
    REQUIRE(d.ok());
    CHECK(desk.handle(in, *d));  // a client's message is the desk's, taken or dropped
  };
  MessageHeader pull = client_request(MessageType::kPull, 1);  // a client sends only JOB, RESULT and STOP
  hand_in(pull);
  MessageHeader elsewhere = client_request(MessageType::kJob, 2);
  elsewhere.shard = 3;  // meant for ps:3
  hand_in(elsewhere);
  for (uint32_t seq = 3; seq < 30; ++seq) hand_in(client_request(MessageType::kHeartbeat, seq));
  CHECK(desk.ignored() == 29);
  CHECK(!desk.has_new_job());
  CHECK(!desk.shutdown());
  Envelope answer;
  CHECK(t->receive(kClient, &answer, std::chrono::milliseconds(50)) == ReceiveStatus::kTimeout);  // none answered
}

TEST_CASE("ps 0's queue holds at most 1000 tickets and refuses more until there is room", "[cluster]") {
  auto t = desk_transport(1, {kPs0, kClient});
  JobDesk desk(t.get(), kPs0);
  auto ticket = [&](int64_t id, uint32_t seq) {
    MessageHeader h = client_request(MessageType::kJob, seq);
    h.step = id;
    return ask(*t, desk, encode_message(h, nullptr)).first;
  };
  CHECK(ticket(1, 1).type == MessageType::kJob);  // admitted at once: the desk is free
  for (int64_t id = 2; id <= 1001; ++id) {
    const MessageHeader a = ticket(id, static_cast<uint32_t>(id));
    REQUIRE(a.type == MessageType::kHeartbeat);  // queued
  }
  const MessageHeader full = ticket(5000, 5000);
  CHECK(full.type == MessageType::kJob);
  CHECK(full.aux == 1);
  CHECK(ticket(1001, 5001).type == MessageType::kHeartbeat);  // a queued ticket renewed: still queued
}

// ps 0 tells an admitted client the servers' task counts (set_cluster), so a client with another
// spec can give up before handing its job to ps tasks that may not exist; its RESULT then drops the
// admission, and the next client in line is admitted at once, not after the ticket expiry.
TEST_CASE("ps 0's admission carries the servers' task counts; a client giving up frees its turn", "[cluster]") {
  const TaskId a{Role::kClient, 1}, b{Role::kClient, 2};
  auto t = desk_transport(2, {kPs0, a, b});
  JobDesk desk(t.get(), kPs0, std::chrono::milliseconds(60000));
  desk.set_cluster(1, 2);
  auto message = [](const TaskId& from, MessageType type, int64_t id, const std::string& text) {
    MessageHeader h;
    h.type = type;
    h.sender_role = Role::kClient;
    h.sender_index = static_cast<uint16_t>(from.index);
    h.step = id;
    h.seq = 1;
    return text.empty() ? encode_message(h, nullptr) : encode_text_message(h, text);
  };
  auto [first, first_bytes] = ask(*t, desk, message(a, MessageType::kJob, 101, ""), a);
  CHECK(first.type == MessageType::kJob);  // admitted, with the counts as text
  CHECK(read_text(first_bytes.data(), first) == R"({"cluster":{"ps":1,"workers":2}})");
  auto [queued, queued_bytes] = ask(*t, desk, message(b, MessageType::kJob, 202, ""), b);
  CHECK(queued.type == MessageType::kHeartbeat);  // behind a's admission
  // b's RESULT about its own job does not touch a's admission.
  ask(*t, desk, message(b, MessageType::kResult, 202, R"({"code":3,"message":"b gave up"})"), b);
  CHECK(ask(*t, desk, message(a, MessageType::kJob, 101, ""), a).first.type == MessageType::kJob);
  // a gives up (its spec is not the servers'): b, asking again, is admitted at once.
  auto [ack, ack_bytes] = ask(*t, desk, message(a, MessageType::kResult, 101, R"({"code":3,"message":"other spec"})"), a);
  CHECK(ack.type == MessageType::kResult);
  auto [next, next_bytes] = ask(*t, desk, message(b, MessageType::kJob, 202, ""), b);
  CHECK(next.type == MessageType::kJob);
  CHECK(!desk.has_new_job());
}
