// The lesson runner: check variables from JSON output, steps run as child processes, and the
// end-to-end errors of `podlab lesson run` on the fixture lessons (failing check, broken syntax,
// missing dataset, a step past its timeout).
#include "lessons/runner.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "lessons/child_process.h"
#include "tests/temp_dir.h"

using namespace podlab;

namespace {

const std::string kFixtures = std::string(PODLAB_TEST_DIR) + "/lessons/fixtures/";

ChildResult run_podlab(const std::vector<std::string>& args, std::vector<std::string> env = {},
                       double timeout_s = 120) {
  ChildOptions o;
  o.timeout_s = timeout_s;
  o.extra_env = std::move(env);
  return run_child(PODLAB_BINARY, args, o);
}

}  // namespace

TEST_CASE("runner: variables from the last JSON line, events, arrays and work items", "[lessons][runner]") {
  const std::string out =
      "not json\n"
      "{\"event\":\"start\",\"parameters\":7850,\"model\":\"softmax\"}\n"
      "{\"event\":\"epoch\",\"epoch\":1,\"test_accuracy\":0.7}\n"
      "{\"event\":\"epoch\",\"epoch\":2,\"test_accuracy\":0.8}\n"
      "{\"work\":\"mlp-b100\",\"samples_per_s\":1000}\n"
      "{\"event\":\"result\",\"test_accuracy\":0.81,\"interrupted\":false,\"ps_tasks\":[{\"floats\":100,\"staleness\":{"
      "\"16-31\":2}},"
      "{\"floats\":300,\"staleness\":{\"16-31\":0}}],\"peers\":{\"worker:0\":{\"bytes_in\":5}},\"list\":[1,2,3]}\n"
      "{broken json\n";
  const Variables v = variables_from_output(out, 0, 1.5);
  CHECK(v.at("exit_code") == 0);
  CHECK(v.at("wall_seconds") == 1.5);
  CHECK(v.at("test_accuracy") == 0.81);
  CHECK(v.at("interrupted") == 0);
  CHECK(v.at("start.parameters") == 7850);
  CHECK(v.at("epoch.epoch") == 2);
  CHECK(v.at("epoch.test_accuracy") == 0.8);
  CHECK(v.at("mlp_b100.samples_per_s") == 1000);
  CHECK(v.at("ps_tasks.count") == 2);
  CHECK(v.at("ps_tasks.1.floats") == 300);
  CHECK(v.at("ps_tasks.floats.min") == 100);
  CHECK(v.at("ps_tasks.floats.max") == 300);
  CHECK(v.at("ps_tasks.floats.sum") == 400);
  CHECK(v.at("ps_tasks.floats.mean") == 200);
  CHECK(v.at("ps_tasks.staleness.16_31.sum") == 2);
  CHECK(v.at("peers.worker_0.bytes_in") == 5);
  CHECK(v.at("list.2") == 3);
  CHECK(v.at("list.max") == 3);
  CHECK(v.count("model") == 0);  // strings are not variables
}

TEST_CASE("runner: one JSON document over several lines; an array becomes items", "[lessons][runner]") {
  const Variables v = variables_from_output("[\n {\"kind\": \"Job\",\n  \"spec\": {\"completions\": 3}},\n {}\n]\n", 0, 0);
  CHECK(v.at("items.count") == 2);
  CHECK(v.at("items.0.spec.completions") == 3);
  const Variables o = variables_from_output("{\n \"a\": {\"b\": 2}\n}\n", 0, 0);
  CHECK(o.at("a.b") == 2);
}

TEST_CASE("runner: a step runs podlab and its checks read the report", "[lessons][runner]") {
  Result<Lesson> l = parse_lesson(
      "---\ntitle: t\nlanguage: en\nlevel: beginner\nduration: 1\ndataset: none\n---\n"
      "```podlab\npodlab graph --layers 2\n```\n```check\nexit_code == 0\nops == 11\nsum > 100\nnope > 1\n```\n"
      "```podlab\npodlab gui\n```\n",
      "t.md");
  REQUIRE(l.ok());
  testing::TempDir dir;
  RunOptions opt;
  opt.podlab_binary = PODLAB_BINARY;
  opt.work_dir = dir.path.string();
  int lines = 0;
  opt.on_stdout_line = [&lines](const std::string&) { ++lines; };
  const StepOutcome o = run_step(l->steps[0], opt);
  INFO(o.err);
  CHECK(o.started);
  CHECK(o.exit_code == 0);
  CHECK(lines > 5);
  const std::vector<CheckResult> r = evaluate_checks(l->steps[0], o, false);
  REQUIRE(r.size() == 4);
  CHECK(r[0].passed);
  CHECK(r[1].passed);
  CHECK(r[1].detail == "ops = 11");
  CHECK_FALSE(r[2].passed);
  CHECK_FALSE(r[3].passed);
  CHECK_THAT(r[3].detail, Catch::Contains("unknown variable 'nope'"));
  CHECK(run_step(l->steps[1], opt).skipped);
}

TEST_CASE("runner: a child past its timeout is stopped with its process group", "[lessons][runner]") {
  ChildOptions o;
  o.timeout_s = 0.5;
  o.grace_s = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const ChildResult r = run_child("/bin/sleep", {"30"}, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.started);
  CHECK(r.timed_out);
  CHECK(r.exit_code == 128 + 15);
  CHECK(s < 5);
  const ChildResult missing = run_child("/nonexistent/podlab", {}, ChildOptions{});
  CHECK(missing.exit_code == 127);
  CHECK_FALSE(missing.error.empty());
}

TEST_CASE("lesson run: a failing check exits 7 and says which", "[lessons][cli]") {
  const ChildResult r = run_podlab({"lesson", "run", kFixtures + "failing-check.md"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 7);
  CHECK_THAT(r.out, Catch::Contains("PASS  exit_code == 0") && Catch::Contains("FAIL  ops == 7") &&
                        Catch::Contains("[ops = 6]") && Catch::Contains("FAILED: 1 steps, 1 of 2 checks passed"));
}

TEST_CASE("lesson run: broken syntax exits 3 with file and line", "[lessons][cli]") {
  const ChildResult r = run_podlab({"lesson", "run", kFixtures + "broken-check.md"});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("broken-check.md:17: check 'ops >= = 6'"));
  const ChildResult fm = run_podlab({"lesson", "run", kFixtures + "unclosed-front-matter.md"});
  CHECK(fm.exit_code == 3);
  CHECK_THAT(fm.err, Catch::Contains("unclosed-front-matter.md:5: expected 'key: value'") &&
                         Catch::Contains("closing '---' missing"));
  const ChildResult missing = run_podlab({"lesson", "run", kFixtures + "no-such-lesson.md"});
  CHECK(missing.exit_code == 5);
}

TEST_CASE("lesson run: a missing dataset exits 4 before any step runs", "[lessons][cli]") {
  if (std::filesystem::exists("/usr/share/datasets/mnist")) return;  // MNIST installed system-wide: nothing is missing
  testing::TempDir empty;
  const std::string e = empty.path.string();
  const ChildResult r = run_podlab({"lesson", "run", kFixtures + "missing-dataset.md", "--fast"},
                                   {"PODLAB_DATA=" + e, "XDG_CACHE_HOME=" + e, "HOME=" + e});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("needs the mnist dataset") && Catch::Contains("podlab data fetch mnist"));
  CHECK_THAT(r.out, !Catch::Contains("[1/1]"));
}

TEST_CASE("lesson run: a step past its timeout is stopped and fails its checks", "[lessons][cli]") {
  const auto t0 = std::chrono::steady_clock::now();
  const ChildResult r = run_podlab({"lesson", "run", kFixtures + "slow-step.md"}, {}, 60);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 7);
  CHECK_THAT(r.out, Catch::Contains("timed out after 1 s"));
  CHECK(s < 15);
}

TEST_CASE("lesson run: a step whose checks read timed_out may time out on purpose", "[lessons][cli]") {
  const ChildResult r = run_podlab({"lesson", "run", kFixtures + "expected-hang.md"}, {}, 60);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("PASS  timed_out == 1"));
}

TEST_CASE("lesson list: lists the shipped lessons", "[lessons][cli]") {
  const ChildResult r = run_podlab({"lesson", "list", "--lang", "all"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("en/01-hello-graph.md") && Catch::Contains("Hello, graph"));
}
