// TrainingSession: commands from the UI thread, training on its own thread, snapshots in between.
#include <catch2/catch.hpp>

#include <chrono>

#include "gui/training_session.h"
#include "tests/gui/gui_test_util.h"

using namespace podlab;
using namespace podlab::gui;
using podlab::testing::wait_until;

namespace {
struct Fixture {
  SnapshotExchange exchange;
  SnapshotExchange::View view;
  SessionOptions options = [] {
    SessionOptions o;
    o.fixed_data = testing::synthetic_dataset();
    o.eval_samples = 100;
    o.eval_every_s = 0.05;
    o.weights_every_s = 0.05;
    return o;
  }();
  TrainingSession session{exchange, options};
  GuiSetup setup = [] {
    GuiSetup s;
    s.model = "mlp:32";
    s.batch = 20;
    s.lr = 0.01f;
    return s;
  }();
  const TrainingStatus& poll() {
    exchange.read(view);
    return view.status;
  }
};
}  // namespace

TEST_CASE("reset builds a paused model; single steps advance one at a time", "[gui][session]") {
  Fixture f;
  f.session.reset(f.setup);
  REQUIRE(wait_until([&] { return f.poll().phase == "ready"; }));
  CHECK(f.view.status.step == 0);
  CHECK(f.view.status.data);
  CHECK(f.view.status.weights);
  REQUIRE(f.view.series[static_cast<int>(Series::kTestAccuracy)].size() == 1);  // step 0 evaluation
  for (int i = 1; i <= 3; ++i) {
    f.session.step_once();
    REQUIRE(wait_until([&] { return f.poll().step == i; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(f.poll().step == 3);
  CHECK(f.view.series[static_cast<int>(Series::kTrainLoss)].size() == 3);  // a point per single step
}

TEST_CASE("play trains and learns, pause stops, reset starts over", "[gui][session]") {
  Fixture f;
  f.session.reset(f.setup);
  REQUIRE(wait_until([&] { return f.poll().phase == "ready"; }));
  const double acc0 = f.view.status.test_accuracy;
  f.session.set_running(true);
  REQUIRE(wait_until([&] {
    return f.poll().step >= 300 && f.view.status.test_accuracy > 0.8 && f.view.status.samples_per_s > 0;
  }, 30));
  CHECK(f.view.status.test_accuracy > acc0);
  f.session.set_running(false);
  REQUIRE(wait_until([&] { return f.poll().phase == "paused"; }));
  const int64_t paused_at = f.poll().step;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(f.poll().step == paused_at);
  const uint64_t gen = f.view.status.generation;
  f.session.reset(f.setup);
  REQUIRE(wait_until([&] { return f.poll().generation != gen && f.view.status.phase == "ready"; }));
  CHECK(f.view.status.step == 0);
  CHECK(f.view.series[static_cast<int>(Series::kTrainLoss)].empty());
}

TEST_CASE("the speed limit caps steps per second", "[gui][session]") {
  Fixture f;
  f.setup.speed_limit = 40;
  f.session.reset(f.setup);
  REQUIRE(wait_until([&] { return f.poll().phase == "ready"; }));
  f.session.set_running(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t steps = f.poll().step;
  CHECK(steps >= 5);
  CHECK(steps <= 25);  // 40/s for 0.5 s, with slack for a loaded machine
}

TEST_CASE("a bad model spec ends in the error phase with the reason", "[gui][session]") {
  Fixture f;
  f.setup.model = "mlp:0";
  f.session.reset(f.setup);
  REQUIRE(wait_until([&] { return f.poll().phase == "error"; }));
  CHECK_FALSE(f.view.status.error.empty());
}

TEST_CASE("destroying a running session stops it promptly", "[gui][session]") {
  auto start = std::chrono::steady_clock::now();
  {
    Fixture f;
    f.session.reset(f.setup);
    f.session.set_running(true);
    REQUIRE(wait_until([&] { return f.poll().step > 10; }));
    start = std::chrono::steady_clock::now();
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}
