// A ps talking to tasks that restart, message by message over the inproc transport: a restarted
// worker numbers its requests from 1 again and its gradients are applied, not taken for repeats; a
// ps that restarted with no checkpoint and gets a PUSH says its shard is lost (kData) at once. And
// when it may leave after STOP: once every worker was told (a STOP answering a HEARTBEAT does not
// count) and the chief, when checkpointing, has taken its final SNAPSHOT.
#include <atomic>
#include <thread>

#include "cluster/placement.h"
#include "cluster/protocol.h"
#include "cluster/ps_server.h"
#include "cluster/worker.h"
#include "tests/cluster/cluster_test_util.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::testing;

namespace {

const TaskId kPs{Role::kPs, 0}, kChief{Role::kWorker, 0}, kWorker1{Role::kWorker, 1}, kClient{Role::kClient, 1};

// One ps (running on its own thread) and two workers whose messages the test writes by hand.
struct PsBench {
  Dataset data = synthetic_dataset(64, 8);
  TrainingPlan plan;
  std::unique_ptr<Trainer> trainer;
  Placement placement;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<PsServer> ps;
  Status ps_status = Status::Internal("still running");
  std::atomic<bool> ps_done{false};
  std::thread thread;

  explicit PsBench(int linger_ms = 100, const std::string& checkpoint_dir = "", int64_t job_id = 0) {
    plan.job_id = job_id;
    plan.train = train_config("mlp:8", "sgd", 0.1f, 16);
    plan.mode = *SyncMode::parse("async");
    plan.num_workers = 2;
    plan.replicas_to_aggregate = 2;
    plan.epochs = 100;
    plan.train_count = data.train.count;
    plan.linger_ms = linger_ms;
    plan.peer_timeout_ms = 60000;
    plan.checkpoint_dir = checkpoint_dir;
    REQUIRE(finish_plan(plan).ok());
    trainer = std::move(*Trainer::create(plan.train, data.input_shape(), data.num_classes));
    placement = *make_placement(trainer->layout(), 1, "round-robin");
    TransportConfig net;
    net.cluster.ps = {"127.0.0.1:1"};
    net.cluster.worker = {"127.0.0.1:2", "127.0.0.1:3"};
    net.local = {kPs, kChief, kWorker1, kClient};
    transport = std::move(*make_transport("inproc", net));
    Context ctx;
    ctx.self = kPs;
    ctx.plan = &plan;
    ctx.placement = &placement;
    ctx.transport = transport.get();
    ctx.data = &data;
    auto created = PsServer::create(ctx);
    REQUIRE(created.ok());
    ps = std::move(*created);
    thread = std::thread([this] {
      ps_status = ps->run();
      ps_done = true;
    });
  }
  // Whether the ps's run() returns within `seconds`.
  bool ends_within(double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!ps_done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ps_done;
  }
  ~PsBench() {
    transport->shutdown();
    if (thread.joinable()) thread.join();
  }

  // A header from `from` to this ps's shard, without floats.
  static MessageHeader header(const TaskId& from, MessageType type, uint32_t seq, int64_t step) {
    MessageHeader h;
    h.type = type;
    h.sender_role = from.role;
    h.sender_index = static_cast<uint16_t>(from.index);
    h.step = step;
    h.seq = seq;
    return h;
  }

  // Sends one request and returns the answer carrying its seq (fails the test after 2 s).
  MessageHeader request(const TaskId& from, MessageType type, uint32_t seq, int64_t step) {
    MessageHeader h = header(from, type, seq, step);
    FloatBuffer floats;
    if (type == MessageType::kInit || type == MessageType::kPush) {
      h.count = static_cast<uint32_t>(placement.shards[0].size());
      h.aux = type == MessageType::kPush ? 16 : 0;
      floats.assign(h.count, type == MessageType::kPush ? 0.01f : 0.5f);
    }
    REQUIRE(transport->send(from, kPs, encode_message(h, floats.data())).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
      Envelope e;
      if (transport->receive(from, &e, std::chrono::milliseconds(50)) != ReceiveStatus::kMessage) continue;
      auto answer = decode_message(e.data(), e.size());
      REQUIRE(answer.ok());
      if (answer->seq == seq) return *answer;
    }
    FAIL("no answer to " << h.debug_string());
    return {};
  }
};

}  // namespace

TEST_CASE("a restarted worker numbers its requests from 1 again and its gradients are applied", "[cluster][faults]") {
  PsBench b;
  int64_t step = b.request(kChief, MessageType::kInit, 1, 0).step;
  CHECK(b.request(kWorker1, MessageType::kPull, 1, 0).type == MessageType::kParams);
  for (uint32_t seq = 2; seq <= 30; ++seq) step = b.request(kWorker1, MessageType::kPush, seq, step).step;
  CHECK(step == 29);
  CHECK(b.request(kWorker1, MessageType::kPush, 30, step).step == 29);  // a re-sent PUSH: not applied twice

  // worker:1 comes back as a new process: seq 1 again.
  CHECK(b.request(kWorker1, MessageType::kPull, 1, 0).type == MessageType::kParams);
  for (uint32_t seq = 2; seq <= 4; ++seq) step = b.request(kWorker1, MessageType::kPush, seq, step).step;
  CHECK(step == 32);

  CHECK(b.request(kChief, MessageType::kStop, 2, step).type == MessageType::kParams);
  b.thread.join();  // after the linger; the stats are published then
  CHECK(b.ps_status.ok());
  const PsStats s = b.ps->stats();
  CHECK(s.applied == 32);
  CHECK(s.duplicates == 1);
  CHECK(s.worker_restarts == 1);
}

TEST_CASE("a ps restarted without a checkpoint ends with a data error at the first PUSH, not waiting for INIT",
          "[cluster][faults]") {
  PsBench b;  // no checkpoint_dir: nothing to restore
  MessageHeader h = PsBench::header(kWorker1, MessageType::kPush, 90, 57);
  h.aux = 16;
  h.count = static_cast<uint32_t>(b.placement.shards[0].size());
  FloatBuffer g(h.count, 0.01f);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(b.transport->send(kWorker1, kPs, encode_message(h, g.data())).ok());
  b.thread.join();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  CHECK(b.ps_status.code() == StatusCode::kData);
  CHECK(b.ps_status.message().find("no checkpoint to restore") != std::string::npos);
  CHECK(b.ps_status.message().find("--checkpoint-dir") != std::string::npos);
}

TEST_CASE("a stopped ps leaves once every worker was told STOP, not after its whole linger", "[cluster][faults]") {
  testing::TempDir dir;
  const bool checkpoints = GENERATE(false, true);
  // A worker still training asks with a PUSH; one waiting for STOP after the last step, with HEARTBEATs.
  const MessageType asks = GENERATE(MessageType::kPush, MessageType::kHeartbeat);
  INFO((checkpoints ? "with" : "without") << " checkpoints, worker:1 asks with " << message_type_name(asks));
  PsBench b(60000, checkpoints ? dir.path.string() : "");  // waiting out the linger would take a minute
  const int64_t step = b.request(kChief, MessageType::kInit, 1, 0).step;
  CHECK(b.request(kWorker1, MessageType::kPull, 1, 0).type == MessageType::kParams);
  CHECK(b.request(kChief, MessageType::kStop, 2, step).type == MessageType::kParams);
  CHECK_FALSE(b.ends_within(0.6));  // worker:1 has not been told
  CHECK(b.request(kWorker1, asks, 2, step).type == MessageType::kStop);
  if (checkpoints) {
    CHECK_FALSE(b.ends_within(0.6));  // the chief's final SNAPSHOT is still to come
    CHECK(b.request(kChief, MessageType::kSnapshot, 3, step).type == MessageType::kSnapshot);
    // The answer may still be on its way (tens of MB for a CNN on a loaded machine): the ps stays
    // until the chief says it holds it, with a HEARTBEAT under a newer seq. One under the
    // SNAPSHOT's own seq (sent while the chief still waits for the answer) does not count.
    CHECK(b.request(kChief, MessageType::kHeartbeat, 3, step).type == MessageType::kStop);
    CHECK_FALSE(b.ends_within(0.6));
    CHECK(b.request(kChief, MessageType::kHeartbeat, 4, step).type == MessageType::kStop);
  }
  CHECK(b.ends_within(10));
  CHECK(b.ps_status.ok());
}

TEST_CASE("a ps not waiting for jobs drops JOB, RESULT, a client's messages and a STOP not from the chief",
          "[cluster][faults]") {
  // Before the fix, JOB and RESULT went on as gradients read past their 48 bytes (NaN values, a
  // crash), and a STOP from worker:1 or a client ended training with exit 0.
  PsBench b;
  const int64_t step = b.request(kChief, MessageType::kInit, 1, 0).step;
  auto header = [&](const TaskId& from, MessageType type, uint32_t seq) { return PsBench::header(from, type, seq, step); };
  uint32_t seq = 10;
  for (const TaskId& from : {kWorker1, kClient}) {
    for (MessageType t : {MessageType::kJob, MessageType::kResult}) {
      REQUIRE(b.transport->send(from, kPs, encode_text_message(header(from, t, ++seq), R"({"id":5})")).ok());
      REQUIRE(b.transport->send(from, kPs, encode_message(header(from, t, ++seq), nullptr)).ok());
    }
    REQUIRE(b.transport->send(from, kPs, encode_message(header(from, MessageType::kStop, ++seq), nullptr)).ok());
  }
  // Still serving, not stopped, its values untouched: INIT's 0.5 everywhere, at step 0.
  MessageHeader h = header(kWorker1, MessageType::kPull, ++seq);
  REQUIRE(b.transport->send(kWorker1, kPs, encode_message(h, nullptr)).ok());
  bool answered = false;
  for (int i = 0; i < 40 && !answered; ++i) {
    Envelope e;
    if (b.transport->receive(kWorker1, &e, std::chrono::milliseconds(50)) != ReceiveStatus::kMessage) continue;
    auto a = decode_message(e.data(), e.size());
    REQUIRE(a.ok());
    if (a->seq != h.seq) continue;  // nothing else is answered, but be sure
    answered = true;
    CHECK(a->type == MessageType::kParams);
    CHECK(a->step == 0);
    FloatBuffer values(a->count);
    read_payload(e.data(), *a, values.data());
    for (float v : values) REQUIRE(v == 0.5f);
  }
  CHECK(answered);
  CHECK(b.request(kChief, MessageType::kStop, 2, step).type == MessageType::kParams);
  b.thread.join();
  CHECK(b.ps_status.ok());
  const PsStats s = b.ps->stats();
  CHECK(s.bad_messages == 10);
  CHECK(s.applied == 0);
}

TEST_CASE("a PUSH computed on a version the ps has not produced is dropped and answered with its values",
          "[cluster][faults]") {
  // E.g. the ps took a new INIT from a restarted chief since. Unanswered, the worker would re-send
  // the same PUSH (same version) for ever; answered, it goes on from the ps's values.
  PsBench b;
  const int64_t step = b.request(kChief, MessageType::kInit, 1, 0).step;
  const MessageHeader ahead = b.request(kWorker1, MessageType::kPush, 2, step + 5);
  CHECK(ahead.type == MessageType::kParams);
  CHECK(ahead.step == step);  // not applied
  CHECK(b.request(kWorker1, MessageType::kPush, 3, step).step == step + 1);  // the next one is
  CHECK(b.request(kChief, MessageType::kStop, 2, step + 1).type == MessageType::kParams);
  b.thread.join();
  const PsStats s = b.ps->stats();
  CHECK(s.dropped_stale == 1);
  CHECK(s.applied == 1);
  CHECK(s.bad_messages == 0);
}

// A chief that starts while its ps lingers after STOP (it replaced a chief that had finished, say a
// restart after a crash in the final evaluation) is told STOP at its INIT. Outside jobs that is the
// end of a finished run: not "interrupted". In a submitted job, ps 0 ended the job early.
TEST_CASE("a chief told STOP at its INIT is interrupted only in a submitted job", "[cluster][faults]") {
  for (const int64_t job : {int64_t{0}, int64_t{7}}) {
    INFO("job " << job);
    PsBench b(5000, "", job);
    b.request(kChief, MessageType::kInit, 1, 0);
    b.request(kChief, MessageType::kStop, 2, 0);  // the first chief is done
    Context ctx;
    ctx.self = kChief;
    ctx.plan = &b.plan;
    ctx.placement = &b.placement;
    ctx.transport = b.transport.get();
    ctx.data = &b.data;
    auto chief = Worker::create(ctx);
    REQUIRE(chief.ok());
    const Status st = (*chief)->run();
    INFO(st.message());
    CHECK(st.ok());
    CHECK((*chief)->chief_result().interrupted == (job != 0));
    CHECK((*chief)->chief_result().ended_by_ps == (job != 0));
  }
}
