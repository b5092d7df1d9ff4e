// ThreadPool: every part runs once per run, barrier() separates phases, idle pools wake up again.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "engine/parallel.h"

using namespace podlab;

TEST_CASE("run calls each part once and barrier publishes the phase before it", "[parallel]") {
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads);
    ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    std::vector<long> cell(threads, 0), seen(threads, 0);
    for (int round = 1; round <= 60; ++round) {
      const int n = 1 + round % threads;  // also runs with fewer parts than threads
      pool.run(n, [&](int r) {
        cell[r] = round * 10 + r;  // phase 1: each part writes its own cell
        pool.barrier();
        long sum = 0;  // phase 2: each part reads all cells
        for (int k = 0; k < n; ++k) sum += cell[k];
        pool.barrier();
        seen[r] = sum;  // nobody writes cells until everyone has read them
        cell[r] = -1;
      });
      long expect = 0;
      for (int k = 0; k < n; ++k) expect += round * 10 + k;
      for (int r = 0; r < n; ++r) REQUIRE(seen[r] == expect);
    }
  }
}

TEST_CASE("a pool idle past its spin time still takes work", "[parallel]") {
  ThreadPool pool(2);
  std::vector<int> hits(2, 0);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers now block instead of spinning
    pool.run(2, [&](int r) { ++hits[r]; });
  }
  CHECK(hits == std::vector<int>{3, 3});
}
