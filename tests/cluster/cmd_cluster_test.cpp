// `podlab cluster run` end to end: the binary in JSON mode on a small Fashion-MNIST subset ends with
// the train-compatible result object; unimplemented or wrong flags are usage errors (exit 2).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
};

Run run_podlab(const std::string& args) {
  Run r;
  const std::string cmd = std::string(PODLAB_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string last_line(const std::string& s) {
  const size_t end = s.find_last_not_of('\n');
  const size_t start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

TEST_CASE("podlab cluster run --json ends with the result object", "[cluster][data]") {
  const Run r = run_podlab(
      "cluster run --ps 2 --workers 2 --mode sync --placement balanced --dataset fashion-mnist "
      "--limit-train 2000 --limit-test 500 --epochs 1 --model mlp:64 --json");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"event\":\"start\"") != std::string::npos);
  CHECK(r.out.find("\"placement\":[{") != std::string::npos);
  CHECK(r.out.find("\"event\":\"epoch\"") != std::string::npos);
  const std::string result = last_line(r.out);
  for (const char* key : {"\"event\":\"result\"", "\"test_accuracy\":", "\"test_loss\":", "\"epochs\":1",
                          "\"steps\":10", "\"seconds\":", "\"samples_per_s\":", "\"mode\":\"sync\"", "\"ps_tasks\":[",
                          "\"worker_tasks\":[", "\"transport\":[", "\"staleness\":{"})
    CHECK(result.find(key) != std::string::npos);
}

TEST_CASE("podlab cluster run: bad flags are usage errors", "[cluster]") {
  Run r = run_podlab("cluster run --transport processes --sim-loss 0.1");  // real sockets: nothing to simulate
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("simulate a network") != std::string::npos);
  r = run_podlab("cluster run --mode sometimes --limit-train 10");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("unknown mode") != std::string::npos);
  r = run_podlab("cluster run --workers 2 --replicas-to-aggregate 3 --mode sync --dataset fashion-mnist --limit-train 100 --limit-test 10");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("replicas-to-aggregate") != std::string::npos);
  r = run_podlab("cluster run --cluster '{\"ps\": [\"a:1\"], \"worker\": [\"a:1\"]}'");
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("duplicate address") != std::string::npos);
  r = run_podlab("cluster run --sim-kill-worker 5:3 --workers 2");
  CHECK(r.exit_code == 2);
  r = run_podlab("cluster run --sim-kill-worker 1:5 --sim-kill-worker 1:10 --workers 2");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("names worker 1 twice") != std::string::npos);
  r = run_podlab("submit --cluster '{\"ps\": [\"127.0.0.1:1\"], \"worker\": [\"127.0.0.1:2\"]}' --shutdown --epochs 3");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("takes no training flags (--epochs)") != std::string::npos);
  // A task index the spec does not have: a configuration error (3), however the index was given.
  r = run_podlab("ps --cluster '{\"ps\": [\"127.0.0.1:1\"], \"worker\": [\"127.0.0.1:2\"]}' --index 1");
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("the index must be in 0..0") != std::string::npos);
  r = run_podlab("ps --cluster '{\"ps\": [\"127.0.0.1:1\"], \"worker\": [\"127.0.0.1:2\"]}' --index 0 --wait-for-job --epochs 2");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("(--epochs)") != std::string::npos);
  r = run_podlab("cluster run --cluster '{\"ps\": [\"a:1\"], \"worker\": [\"b:1\"]}' --ps 2");  // the spec sets the counts
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("excludes") != std::string::npos);
  r = run_podlab("cluster run --sim-slowdown 1,1,1,1 --workers 2");
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("4 factors for 2 workers") != std::string::npos);
  // Flags that mean nothing in the mode are said, not silently ignored.
  r = run_podlab("cluster run --workers 2 --replicas-to-aggregate 2 --dataset fashion-mnist --limit-train 100 --limit-test 10 --epochs 1");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--replicas-to-aggregate applies to --mode sync only") != std::string::npos);
  r = run_podlab("cluster run --workers 2 --mode sync --overlap --dataset fashion-mnist --limit-train 100 --limit-test 10 --epochs 1");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--overlap applies to --mode async only") != std::string::npos);
}

// The model's default learning-rate decay is per epoch; a sync step with 2 workers covers 2 batches,
// so an epoch is half as many steps as `podlab train`'s at the same batch. With the defaults (no
// --lr-schedule), sync with 2 workers of 50 equals train at 100, as it does with a constant rate.
// (Found by helper-40: the cluster decayed once per 2 epochs.)
TEST_CASE("podlab cluster run: sync's default schedule decays per epoch, as train's does", "[cluster][data]") {
  const std::string common = " --dataset fashion-mnist --limit-train 6000 --limit-test 2000 --epochs 2 --seed 3 --json";
  auto test_loss = [](const Run& r) {
    const std::string line = last_line(r.out);
    const size_t at = line.find("\"test_loss\":");
    REQUIRE(at != std::string::npos);
    return line.substr(at, line.find(',', at) - at);
  };
  const Run train = run_podlab("train --batch 100" + common);
  INFO(train.out);
  REQUIRE(train.exit_code == 0);
  for (const char* transport : {"threads", "processes"}) {
    const Run sync = run_podlab(std::string("cluster run --transport ") + transport + " --workers 2 --mode sync --batch 50" + common);
    INFO(transport << "\n" << sync.out);
    REQUIRE(sync.exit_code == 0);
    CHECK(test_loss(sync) == test_loss(train));
  }
}

// A second run into a --checkpoint-dir that holds a finished run's checkpoints trains nothing: its
// ps tasks restore the last step. Its result says so (resumed_from_step) rather than passing the
// old run's accuracy off as its own; with more epochs it carries on from there. (helper-40)
TEST_CASE("podlab cluster run: a run resumed from --checkpoint-dir says from which step", "[cluster][data]") {
  char tmpl[] = "/tmp/podlab_resume_test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  const std::string common = "cluster run --workers 2 --dataset fashion-mnist --limit-train 3000 --limit-test 500 --json "
                             "--checkpoint-dir " + dir + "/ckpt";
  const Run first = run_podlab(common + " --epochs 1");
  INFO(first.out);
  REQUIRE(first.exit_code == 0);
  CHECK(last_line(first.out).find("resumed_from_step") == std::string::npos);
  const Run again = run_podlab(common + " --epochs 1");
  INFO(again.out);
  REQUIRE(again.exit_code == 0);
  CHECK(last_line(again.out).find("\"steps\":30,") != std::string::npos);
  CHECK(last_line(again.out).find("\"resumed_from_step\":30,") != std::string::npos);
  const Run more = run_podlab(common + " --epochs 2");
  INFO(more.out);
  REQUIRE(more.exit_code == 0);
  CHECK(last_line(more.out).find("\"steps\":60,") != std::string::npos);
  CHECK(last_line(more.out).find("\"resumed_from_step\":30,") != std::string::npos);
  // Over processes the launcher reports what the directory held when it started.
  const Run processes = run_podlab(common + " --epochs 2 --transport processes");
  INFO(processes.out);
  REQUIRE(processes.exit_code == 0);
  CHECK(last_line(processes.out).find("\"resumed_from_step\":60,") != std::string::npos);
  std::system(("rm -rf '" + dir + "'").c_str());
}

// A worker thread that never sends (--sim-kill-worker 1:0) is given up on after --peer-timeout-s, as
// one that went silent is: cluster run has no --connect-timeout-s for threads (it took 30 s).
TEST_CASE("podlab cluster run: a worker thread that never comes is lost after --peer-timeout-s", "[cluster][data]") {
  const auto t0 = std::chrono::steady_clock::now();
  const Run r = run_podlab("cluster run --workers 2 --mode sync --sim-kill-worker 1:0 --peer-timeout-s 2 "
                           "--dataset fashion-mnist --limit-train 600 --limit-test 100 --epochs 1");
  INFO(r.out);
  CHECK(r.exit_code == 6);
  CHECK(r.out.find("worker:1 (not come in 2.0 s)") != std::string::npos);
  CHECK(r.out.find("--connect-timeout-s") == std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
}
