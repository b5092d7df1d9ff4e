// Faults on the in-process cluster: heartbeats notice a silent (dead) worker within the timeout,
// async and sync-with-backups train on without it, sync without enough workers waits and says so,
// and the chief's checkpoints of the ps state let a new cluster continue exactly where it stopped.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "tests/cluster/cluster_test_util.h"
#include "engine/checkpoint.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::testing;

namespace {

// Records, for one watched worker, when a ps first reported it silent for longer than the timeout.
class DeathWatch : public LocalClusterObserver {
 public:
  DeathWatch(std::string watched, double timeout_s) : watched_(std::move(watched)), timeout_s_(timeout_s) {}
  void on_tick(const std::vector<TaskProgress>& tasks, double elapsed) override {
    for (const TaskProgress& t : tasks) {
      if (t.name.rfind("ps:", 0) != 0) continue;
      for (const auto& [peer, age] : t.heartbeat_age_s) {
        if (age <= timeout_s_) continue;
        if (peer != watched_) {
          live_flagged_ = peer;
        } else if (detected_at_ < 0) {
          detected_at_ = elapsed;
          age_at_detection_ = age;
        }
      }
      if (!t.state.empty()) states_.push_back(t.state);
    }
    for (const TaskProgress& t : tasks)
      if (t.name == watched_ && t.done) watched_done_ = true;
    if (stop_when_ && !states_.empty() && states_.back().find(stop_when_) != std::string::npos) stop_ = true;
  }
  bool should_stop() override { return stop_; }

  std::string watched_;
  double timeout_s_;
  double detected_at_ = -1, age_at_detection_ = -1;
  std::string live_flagged_;          // a live worker reported dead (must stay empty)
  std::vector<std::string> states_;   // ps states seen
  const char* stop_when_ = nullptr;   // ask the chief to stop once a ps state contains this
  bool stop_ = false;
  bool watched_done_ = false;         // the watched worker's own progress said "done"
};

ClusterSetup small_setup(const std::string& mode, int workers) {
  ClusterSetup s;
  s.train = train_config("mlp:32", "adam", 0.01f, 16);
  s.mode = mode;
  s.workers = workers;
  s.retry_ms = 200;
  s.heartbeat_ms = 100;
  s.heartbeat_timeout_ms = 500;
  return s;
}

}  // namespace

TEST_CASE("heartbeats: a silent worker is reported dead within the timeout, async trains on", "[cluster][faults]") {
  const Dataset data = synthetic_dataset(300, 50);
  ClusterSetup s = small_setup("async", 3);
  s.epochs = 12;                          // 228 steps at ~10 ms each: long enough to watch
  s.network.link.latency_ms = 5;
  s.network.worker_silent_after[2] = 2;   // its PULL and first PUSH arrive, nothing after
  DeathWatch watch("worker:2", 0.5);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = try_run_cluster(s, data, &watch, 0.05);
  REQUIRE(r.ok());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("run " << seconds << " s, detected at " << watch.detected_at_ << " s with age " << watch.age_at_detection_);
  CHECK(r->chief.steps == 12 * 19);       // async goes on without the dead worker
  REQUIRE(watch.detected_at_ > 0);
  // Seen by the first tick after the timeout: the ps publishes at least every 250 ms, ticks every 50.
  CHECK(watch.age_at_detection_ < 0.5 + 0.4);
  // Worker 2 went silent right at the start, so it is reported within timeout + start-up + slack.
  CHECK(watch.detected_at_ < 0.5 + 1.5);
  CHECK(watch.live_flagged_.empty());
  CHECK(std::any_of(watch.states_.begin(), watch.states_.end(),
                    [](const std::string& st) { return st.find("worker:2 silent") != std::string::npos; }));
  // The final counters keep the ages: worker 2 long silent, the others fresh.
  const auto& ages = r->ps[0].heartbeat_age_s;
  REQUIRE(ages.count("worker:2"));
  CHECK(ages.at("worker:2") > ages.at("worker:1") + 0.5);
}

TEST_CASE("a silent worker that gives up on its ps is not shown as done: it stays dead", "[cluster][faults]") {
  const Dataset data = synthetic_dataset(300, 50);
  ClusterSetup s = small_setup("async", 2);
  s.epochs = 24;                          // about 4.5 s: the silent worker gives up after 1.5 s
  s.network.link.latency_ms = 5;
  s.network.worker_silent_after[1] = 2;
  s.peer_timeout_ms = 1500;               // also the chief's and ps's: a stall this long under load fails the run
  DeathWatch watch("worker:1", 0.5);
  auto r = try_run_cluster(s, data, &watch, 0.05);
  REQUIRE(r.ok());
  CHECK(r->chief.steps == 24 * 19);
  REQUIRE(r->worker_status.size() == 2);
  CHECK(r->worker_status[1].code() == StatusCode::kNetwork);  // it gave up on ps:0
  CHECK(watch.detected_at_ > 0);
  CHECK_FALSE(watch.watched_done_);  // a "done" worker would drop out of the dead list
}

TEST_CASE("a silenced chief ends the run, and the error names the chief's silence, not its ps", "[cluster][faults]") {
  const Dataset data = synthetic_dataset(300, 50);
  ClusterSetup s = small_setup("async", 2);
  s.epochs = 24;
  s.network.link.latency_ms = 5;
  s.network.worker_silent_after[0] = 4;
  s.peer_timeout_ms = 1000;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = try_run_cluster(s, data);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNetwork);
  INFO(r.status().message());
  CHECK(r.status().message().rfind("the chief (worker:0) went silent after 4 messages (--sim-kill-worker 0:4)", 0) == 0);
}

TEST_CASE("sync: a backup worker covers a dead one, and without enough workers the ps waits and says so",
          "[cluster][faults]") {
  const Dataset data = synthetic_dataset(320, 50);
  SECTION("3 workers aggregating 2: training completes without worker 2") {
    ClusterSetup s = small_setup("sync", 3);
    s.replicas = 2;
    s.epochs = 3;
    s.network.worker_silent_after[2] = 2;
    auto r = try_run_cluster(s, data);
    REQUIRE(r.ok());
    CHECK(r->chief.steps == r->ps[0].step);
    CHECK(r->chief.steps == 3 * 7);  // ceil(320 / (3 x 16)) steps per epoch
    CHECK(!r->chief.interrupted);
  }
  SECTION("2 workers aggregating 2: the ps waits with a visible status until the chief is stopped") {
    ClusterSetup s = small_setup("sync", 2);
    s.epochs = 3;
    s.network.worker_silent_after[1] = 2;
    DeathWatch watch("worker:1", 0.5);
    watch.stop_when_ = "1 live worker";
    const auto t0 = std::chrono::steady_clock::now();
    auto r = try_run_cluster(s, data, &watch, 0.05);
    REQUIRE(r.ok());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
    CHECK(watch.stop_);
    REQUIRE(!watch.states_.empty());
    INFO("last ps state: " << watch.states_.back());
    CHECK(watch.states_.back().find("waits: 1 of 2 gradients, 1 live worker (worker:1 silent") != std::string::npos);
    CHECK(r->chief.interrupted);
    CHECK(r->chief.steps == 1);  // worker 1's gradient for step 1 never arrives
    CHECK(r->ps[0].heartbeats > 0);  // the chief heartbeats while it waits
  }
}

TEST_CASE("the chief checkpoints the ps state and a new cluster restores it and continues exactly", "[cluster][faults]") {
  const Dataset data = synthetic_dataset(320, 50);
  TempDir dir;
  ClusterSetup s;
  s.train = train_config("mlp:24", "adam", 0.01f, 16);
  s.mode = "sync";
  s.ps = 2;
  s.workers = 2;
  s.placement = "balanced";
  s.epochs = 5;
  s.checkpoint_dir = dir.path.string();
  s.checkpoint_every_steps = 10;
  s.max_steps = 30;
  const ClusterReport first = run_cluster(s, data);
  CHECK(first.chief.steps == 30);
  CHECK(first.workers[0].checkpoints == 4);  // after INIT (step 0), at 10 and 20, and before STOP (30)
  auto latest = latest_checkpoint(dir.path.string());
  REQUIRE(latest.ok());
  CHECK(std::filesystem::path(*latest).filename() == "ckpt-30.podlab");
  auto ckpt = load_checkpoint(*latest);
  REQUIRE(ckpt.ok());
  CHECK(ckpt->position.step == 30);
  CHECK(ckpt->optimizer_steps == 30);
  CHECK(ckpt->optimizer_slots.size() == 2 * ckpt->parameters.size());  // adam's two moments
  auto trainer = Trainer::create(s.train, data.input_shape(), data.num_classes);
  REQUIRE(trainer.ok());
  REQUIRE(restore_checkpoint(*ckpt, **trainer).ok());
  CHECK((*trainer)->parameters() == first.parameters);

  // A new cluster on the same directory: every ps restores step 30 and training goes on to 50,
  // reaching the same weights, bit for bit, as one uninterrupted sync run of 50 steps.
  s.max_steps = 50;
  const ClusterReport resumed = run_cluster(s, data);
  for (const PsStats& p : resumed.ps) {
    CHECK(p.restored_step == 30);
    CHECK(p.step == 50);
    CHECK(p.applied == 2 * 20);
  }
  CHECK(resumed.chief.steps == 50);
  TempDir other;
  s.checkpoint_dir = other.path.string();
  const ClusterReport straight = run_cluster(s, data);
  CHECK(straight.ps[0].restored_step == -1);
  CHECK(resumed.parameters == straight.parameters);
}

TEST_CASE("ps tasks with empty shards keep the others' optimiser slots in the chief's checkpoint", "[cluster][faults]") {
  // softmax has two variables: with round-robin over 5 ps, ps 2..4 hold nothing. Their SNAPSHOT
  // answers must not shrink or zero the slots gathered from ps 0 and 1, whatever order they come in.
  const Dataset data = synthetic_dataset(160, 20);
  TempDir dir;
  ClusterSetup s;
  s.train = train_config("softmax", "adam", 0.01f, 16);
  s.mode = "sync";
  s.ps = 5;
  s.checkpoint_dir = dir.path.string();
  s.max_steps = 7;
  const ClusterReport r = run_cluster(s, data);
  CHECK(r.chief.steps == 7);
  auto ckpt = load_checkpoint(dir.path.string() + "/ckpt-7.podlab");
  REQUIRE(ckpt.ok());
  // One worker in sync mode replays Trainer bit for bit: its checkpoint is the cluster's.
  auto t = Trainer::create(s.train, data.input_shape(), data.num_classes);
  REQUIRE(t.ok());
  for (int i = 0; i < 7; ++i) (*t)->step(data.train);
  const Checkpoint want = capture_checkpoint(**t, ckpt->dataset, data.input_shape(), data.num_classes);
  CHECK(ckpt->parameters == want.parameters);
  REQUIRE(ckpt->optimizer_slots.size() == want.optimizer_slots.size());
  CHECK(ckpt->optimizer_slots == want.optimizer_slots);
}

TEST_CASE("a ps refuses a checkpoint of another model with a data error", "[cluster][faults]") {
  const Dataset data = synthetic_dataset(160, 20);
  TempDir dir;
  ClusterSetup s;
  s.train = train_config("mlp:24", "adam", 0.01f, 16);
  s.mode = "sync";
  s.checkpoint_dir = dir.path.string();
  s.max_steps = 3;
  run_cluster(s, data);
  s.train = train_config("mlp:8", "adam", 0.01f, 16);
  auto r = try_run_cluster(s, data);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK(r.status().message().find("mlp:24") != std::string::npos);
}
