// The exchange between the training thread and the UI: never blocks the writer, loses no points,
// drops an older generation's points.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "gui/snapshot.h"

using namespace podlab::gui;

TEST_CASE("points and status reach the reader once, in order", "[gui][snapshot]") {
  SnapshotExchange x;
  TrainingStatus st;
  st.step = 3;
  const MetricPoint p[] = {{1, 0.1, 2.0}, {2, 0.2, 1.5}};
  REQUIRE(x.publish(st, Series::kTrainLoss, p, 2));
  SnapshotExchange::View v;
  x.read(v);
  CHECK(v.status.step == 3);
  REQUIRE(v.series[0].size() == 2);
  CHECK(v.series[0][1].value == 1.5);
  x.read(v);  // nothing new: nothing duplicated
  CHECK(v.series[0].size() == 2);
}

TEST_CASE("publish does not wait for a reader holding the lock", "[gui][snapshot]") {
  SnapshotExchange x;
  TrainingStatus st;
  const MetricPoint p{1, 0, 0.5};
  bool published = true;
  x.hold_lock_for_test([&] {
    st.step = 1;
    published = x.publish(st, Series::kTestAccuracy, &p, 1);  // would deadlock if it waited
  });
  CHECK_FALSE(published);
  CHECK(x.publish_misses() == 1);
  SnapshotExchange::View v;
  x.read(v);
  CHECK(v.series[static_cast<int>(Series::kTestAccuracy)].empty());  // kept back, not lost:
  st.step = 2;
  REQUIRE(x.publish(st));
  x.read(v);
  CHECK(v.status.step == 2);
  REQUIRE(v.series[static_cast<int>(Series::kTestAccuracy)].size() == 1);
}

TEST_CASE("a new generation clears the reader's history and pending points", "[gui][snapshot]") {
  SnapshotExchange x;
  TrainingStatus st;
  st.generation = 1;
  const MetricPoint p{1, 0, 1};
  x.publish(st, Series::kTrainLoss, &p, 1);
  SnapshotExchange::View v;
  x.read(v);
  REQUIRE(v.series[0].size() == 1);
  x.hold_lock_for_test([&] { x.publish(st, Series::kTrainLoss, &p, 1); });  // pending, generation 1
  st.generation = 2;
  x.flush(st);
  x.read(v);
  CHECK(v.status.generation == 2);
  CHECK(v.series[0].empty());
}

TEST_CASE("a busy reader and writer exchange every point", "[gui][snapshot]") {
  SnapshotExchange x;
  constexpr int kPoints = 20000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    TrainingStatus st;
    for (int i = 0; i < kPoints; ++i) {
      st.step = i + 1;
      const MetricPoint p{static_cast<double>(i), 0, static_cast<double>(i)};
      x.publish(st, Series::kTrainLoss, &p, 1);
    }
    x.flush(st);
    done = true;
  });
  SnapshotExchange::View v;
  while (!done) x.read(v);
  writer.join();
  x.read(v);
  REQUIRE(v.series[0].size() == kPoints);
  for (int i = 0; i < kPoints; ++i) REQUIRE(v.series[0][i].step == i);
  CHECK(v.status.step == kPoints);
}
