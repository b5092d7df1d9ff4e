// plan_agreement_text and plan_fingerprint: what tasks started separately must agree on. Every field
// that sets the ps's updates, the step count or the data a worker reads changes the fingerprint;
// per-task choices (overlap, timeouts, compute threads, the chief's checkpoints) do not.
#include <catch2/catch.hpp>

#include <functional>
#include <set>

#include "cluster/context.h"
#include "engine/network.h"

using namespace podlab;

namespace {

Placement placement_for(const std::string& spec, int num_ps, const std::string& strategy) {
  auto net = Network::build(*ModelSpec::parse(spec), Shape{28, 28, 1}, 10);
  REQUIRE(net.ok());
  auto p = make_placement((*net)->layout(), num_ps, strategy);
  REQUIRE(p.ok());
  return *p;
}

TrainingPlan base_plan() {
  TrainingPlan p;
  p.train.model = *ModelSpec::parse("mlp:200,200");
  p.train.optimizer.name = "adam";
  p.train.optimizer.lr = 0.003f;
  p.train.batch = 100;
  p.num_workers = 2;
  p.replicas_to_aggregate = 2;
  p.epochs = 2;
  p.train_count = 60000;
  p.dataset = "fashion-mnist";
  p.train_labels_crc = 0x1234abcd;
  REQUIRE(finish_plan(p).ok());
  return p;
}

}  // namespace

TEST_CASE("the plan's fingerprint changes with every field the tasks must agree on, and only with those", "[cluster]") {
  const Placement rr = placement_for("mlp:200,200", 1, "round-robin");
  const TrainingPlan base = base_plan();
  const std::string text = plan_agreement_text(base, rr);
  CHECK(text.find("model=mlp:200,200 train_labels=1234abcd optimizer=adam lr=0.003 ") == 0);  // floats in their shortest exact form
  CHECK(text.find("total_steps=1200") != std::string::npos);
  const uint32_t fp = plan_fingerprint(text);
  CHECK(fp != 0);
  CHECK(plan_fingerprint(plan_agreement_text(base_plan(), rr)) == fp);  // deterministic

  const std::vector<std::pair<const char*, std::function<void(TrainingPlan&)>>> must_agree = {
      {"model", [](TrainingPlan& p) { p.train.model = *ModelSpec::parse("mlp:200,100"); }},
      // a task that found MNIST where the others found Fashion-MNIST (--dataset left to its default)
      {"training data", [](TrainingPlan& p) { p.train_labels_crc = 0x1234abce; }},
      {"optimizer", [](TrainingPlan& p) { p.train.optimizer.name = "sgd"; }},
      {"lr", [](TrainingPlan& p) { p.train.optimizer.lr = 0.0030001f; }},
      {"momentum", [](TrainingPlan& p) { p.train.optimizer.momentum = 0.5f; }},
      {"schedule", [](TrainingPlan& p) { p.train.optimizer.schedule = *LrSchedule::parse("step:100"); }},
      {"batch", [](TrainingPlan& p) { p.train.batch = 50; }},
      {"seed", [](TrainingPlan& p) { p.train.seed = 2; }},
      {"mode", [](TrainingPlan& p) { p.mode = *SyncMode::parse("ssp:1"); }},
      {"workers", [](TrainingPlan& p) { p.num_workers = 3; }},
      {"train samples", [](TrainingPlan& p) { p.train_count = 2000; }},
      {"total steps", [](TrainingPlan& p) { p.total_steps = 5; }},
  };
  std::set<uint32_t> seen = {fp};
  for (const auto& [what, change] : must_agree) {
    INFO(what);
    TrainingPlan p = base;
    change(p);
    const uint32_t other = plan_fingerprint(plan_agreement_text(p, rr));
    CHECK(other != fp);
    seen.insert(other);
  }
  CHECK(seen.size() == must_agree.size() + 1);
  // The same files under another name (a flat --data directory is taken for "mnist"): not refused.
  TrainingPlan renamed = base;
  renamed.dataset = "mnist";
  CHECK(plan_fingerprint(plan_agreement_text(renamed, rr)) == fp);
  // replicas_to_aggregate counts in sync only (elsewhere the flag is ignored, so it must not refuse).
  TrainingPlan sync = base, sync_r1 = base, async_r1 = base;
  sync.mode = sync_r1.mode = *SyncMode::parse("sync");
  sync_r1.replicas_to_aggregate = async_r1.replicas_to_aggregate = 1;
  CHECK(plan_fingerprint(plan_agreement_text(sync, rr)) != plan_fingerprint(plan_agreement_text(sync_r1, rr)));
  CHECK(plan_fingerprint(plan_agreement_text(async_r1, rr)) == fp);
  CHECK(plan_fingerprint(plan_agreement_text(base, placement_for("mlp:200,200", 2, "round-robin"))) != fp);
  CHECK(plan_fingerprint(plan_agreement_text(base, placement_for("mlp:200,200", 1, "balanced"))) != fp);

  TrainingPlan own = base;  // each task's own choices
  own.overlap = true;
  own.train.threads = 2;
  own.retry_ms = 10;
  own.heartbeat_ms = 100;
  own.peer_timeout_ms = 1000;
  own.eval_limit = 500;
  own.checkpoint_dir = "/tmp/elsewhere";
  own.checkpoint_every_steps = 7;
  CHECK(plan_fingerprint(plan_agreement_text(own, rr)) == fp);
}

TEST_CASE("modes parse, and a bad one says what is wrong with it", "[cluster]") {
  CHECK(SyncMode::parse("ssp:3")->staleness == 3);
  CHECK(SyncMode::parse("ssp:999999")->staleness == 999999);
  CHECK(SyncMode::parse("ssp:99999999999").status().message().find("at most 999999") != std::string::npos);
  CHECK(SyncMode::parse("ssp:-1").status().message().find("non-negative integer") != std::string::npos);
  CHECK(SyncMode::parse("ssp:").status().code() == StatusCode::kUsage);
  CHECK(SyncMode::parse("hogwild").status().message().find("expected sync, async or ssp:K") != std::string::npos);
}
