// Cluster specs and TF_CONFIG: what parses, and that every mistake gets a clear error.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cluster/cluster_spec.h"
#include "cluster/transport.h"

using namespace podlab;

namespace {

std::string error_of(const std::string& json) {
  auto s = parse_cluster_spec(json);
  REQUIRE(!s.ok());
  CHECK(s.status().code() == StatusCode::kConfig);
  return s.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a cluster spec parses into ps and worker lists", "[cluster]") {
  auto s = parse_cluster_spec(R"({"ps": ["ps-0.podlab:2222", "10.0.0.2:2222"], "worker": ["w0:2222", "[::1]:2223"]})");
  REQUIRE(s.ok());
  CHECK(s->num_ps() == 2);
  CHECK(s->num_workers() == 2);
  CHECK(s->address({Role::kWorker, 1}) == "[::1]:2223");
  CHECK(s->contains({Role::kPs, 1}));
  CHECK_FALSE(s->contains({Role::kPs, 2}));
  CHECK(s->tasks().size() == 4);
  auto again = parse_cluster_spec(s->to_json());
  REQUIRE(again.ok());
  CHECK(again->ps == s->ps);
  CHECK(again->worker == s->worker);
  auto hp = parse_host_port("[::1]:2223");
  REQUIRE(hp.ok());
  CHECK(hp->host == "::1");
  CHECK(hp->port == 2223);
}

TEST_CASE("a cluster is on one machine when every address is a loopback one", "[cluster]") {
  auto spec = [](const std::string& json) { return *parse_cluster_spec(json); };
  CHECK(spec(R"({"ps": ["127.0.0.1:2222"], "worker": ["localhost:2223", "[::1]:2224", "127.1.2.3:9"]})").on_one_machine());
  CHECK_FALSE(spec(R"({"ps": ["127.0.0.1:2222"], "worker": ["10.0.0.2:2223"]})").on_one_machine());
  CHECK_FALSE(spec(R"({"ps": ["ps-0.podlab:2222"], "worker": ["127.0.0.1:2223"]})").on_one_machine());
  CHECK_FALSE(spec(R"({"ps": ["1127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]})").on_one_machine());
  CHECK(is_loopback_host("127.0.0.2"));
  CHECK_FALSE(is_loopback_host("10.0.0.1"));
}

TEST_CASE("a chief job becomes worker 0", "[cluster]") {
  auto s = parse_cluster_spec(R"({"chief": ["c:1"], "ps": ["p:1"], "worker": ["w:1", "w:2"]})");
  REQUIRE(s.ok());
  CHECK(s->worker == std::vector<std::string>{"c:1", "w:1", "w:2"});
  // Older TensorFlow (and TF_CONFIG's task type "master") named it master.
  s = parse_cluster_spec(R"({"master": ["m:1"], "ps": ["p:1"], "worker": ["w:1"]})");
  REQUIRE(s.ok());
  CHECK(s->worker == std::vector<std::string>{"m:1", "w:1"});
}

TEST_CASE("bad cluster specs say what is wrong", "[cluster]") {
  CHECK(contains(error_of("{\"ps\": [\"a:1\"]"), "not valid JSON"));
  CHECK(contains(error_of("[1, 2]"), "JSON object"));
  CHECK(contains(error_of(R"({"ps": [], "worker": ["w:1"]})"), "no ps tasks"));
  CHECK(contains(error_of(R"({"ps": ["p:1"]})"), "no worker tasks"));
  CHECK(contains(error_of(R"({"ps": "p:1", "worker": ["w:1"]})"), "must be a list"));
  CHECK(contains(error_of(R"({"ps": [5], "worker": ["w:1"]})"), "entry 0"));
  CHECK(contains(error_of(R"({"ps": ["p"], "worker": ["w:1"]})"), "no host:port"));
  CHECK(contains(error_of(R"({"ps": ["p:0"], "worker": ["w:1"]})"), "port must be 1-65535 (got 0)"));
  CHECK(contains(error_of(R"({"ps": ["p:99999"], "worker": ["w:1"]})"), "port must be 1-65535 (got 99999)"));
  CHECK(contains(error_of(R"({"ps": ["p:124001"], "worker": ["w:1"]})"), "port must be 1-65535 (got 124001)"));
  CHECK(contains(error_of(R"({"ps": ["p:99999999999999999999999"], "worker": ["w:1"]})"), "port must be 1-65535"));
  CHECK(contains(error_of(R"({"ps": ["p:024001"], "worker": ["w:1"]})"),
                 "port \"024001\" has a leading zero; write it as 24001"));
  CHECK(contains(error_of(R"({"ps": ["p:000"], "worker": ["w:1"]})"), "port must be 1-65535 (got 000)"));
  CHECK(contains(error_of(R"({"ps": ["p:x1"], "worker": ["w:1"]})"), "port \"x1\" must be a decimal number"));
  CHECK(contains(error_of(R"({"ps": ["p:-1"], "worker": ["w:1"]})"), "must be a decimal number"));
  CHECK(contains(error_of(R"({"ps": ["p:"], "worker": ["w:1"]})"), "no port after the ':'"));
  CHECK(parse_host_port("p:65535").ok());
  CHECK(parse_host_port("p:1")->port == 1);
  CHECK(contains(error_of(R"({"ps": ["p q:1"], "worker": ["w:1"]})"), "bad character"));
  CHECK(contains(error_of(R"({"ps": ["[::1:1"], "worker": ["w:1"]})"), "IPv6"));
  CHECK(contains(error_of(R"({"ps": ["h:1"], "worker": ["h:1"]})"), "duplicate address"));
  // The same socket written two ways: localhost binds 127.0.0.1, and host names ignore case.
  CHECK(contains(error_of(R"({"ps": ["127.0.0.1:5"], "worker": ["localhost:5"]})"),
                 "duplicate address \"localhost:5\" (worker:0 and an earlier task, written \"127.0.0.1:5\")"));
  CHECK(contains(error_of(R"({"ps": ["Host-A:5"], "worker": ["host-a:5"]})"), "duplicate address"));
  CHECK(parse_cluster_spec(R"({"ps": ["127.0.0.1:5"], "worker": ["[::1]:5"]})").ok());  // IPv4 and IPv6: two sockets
  CHECK(contains(error_of(R"({"ps": ["p:1"], "worker": ["w:1"], "evaluator": ["e:1"]})"), "does not run (its chief evaluates)"));
  CHECK(contains(error_of(R"({"ps": ["p:1"], "worker": ["w:1"], "trainer": ["e:1"]})"), "unknown job \"trainer\""));
  CHECK(contains(error_of(R"({"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0}})"),
                 "looks like a whole TF_CONFIG"));
  CHECK(contains(error_of(R"({"ps": ["p:1"], "chief": ["c:1"], "master": ["m:1"]})"), "keep one"));
  CHECK(contains(error_of(R"({"ps": ["p:1"], "worker": ["w:1"], "chief": ["a:1", "b:1"]})"), "exactly one"));
}

TEST_CASE("a cluster spec has at most kMaxTasksPerRole tasks per job", "[cluster]") {
  auto spec_with = [](int ps, int workers, bool chief) {
    std::string json = "{\"ps\": [";
    int port = 1;
    for (int i = 0; i < ps; ++i) json += (i ? ", " : "") + std::string("\"h:") + std::to_string(port++) + "\"";
    json += "], \"worker\": [";
    for (int i = 0; i < workers; ++i) json += (i ? ", " : "") + std::string("\"h:") + std::to_string(port++) + "\"";
    json += "]";
    if (chief) json += ", \"chief\": [\"h:" + std::to_string(port++) + "\"]";
    return json + "}";
  };
  const int n = kMaxTasksPerRole;
  auto full = parse_cluster_spec(spec_with(n, n, false));
  REQUIRE(full.ok());
  CHECK(full->num_ps() == n);
  CHECK(full->num_workers() == n);
  CHECK(contains(error_of(spec_with(n + 1, 1, false)), "the cluster spec has 65 ps tasks; podlab runs at most 64 per job: remove 1"));
  CHECK(contains(error_of(spec_with(1, n + 3, false)), "has 67 worker tasks (a chief job counts as one); podlab runs at most 64"));
  CHECK(contains(error_of(spec_with(1, n, true)), "has 65 worker tasks (a chief job counts as one)"));
  auto tf = parse_tf_config("{\"cluster\": " + spec_with(1, n + 1, false) + ", \"task\": {\"type\": \"ps\", \"index\": 0}}");
  REQUIRE(!tf.ok());
  CHECK(contains(tf.status().message(), "TF_CONFIG: the cluster spec has 65 worker tasks"));
  CHECK(LiveFaults::kMaxTasks == kMaxTasksPerRole);  // every task of a threads cluster can be faulted live
}

TEST_CASE("a key given twice is an error, not last-one-wins", "[cluster]") {
  CHECK(contains(error_of(R"({"ps": ["127.0.0.1:1"], "ps": ["a:1"], "worker": ["127.0.0.1:2"]})"),
                 "the cluster spec has the key \"ps\" twice at the top level"));
  CHECK(contains(error_of(R"({"ps": ["p:1"], "worker": ["w:1"], "worker": ["w:1"]})"), "keep one \"worker\""));
  // Keys repeat only within one object: the same key in two objects is fine.
  CHECK(contains(error_of(R"({"ps": [{"a": 1}, {"a": 1, "b": 2, "a": 3}], "worker": ["w:1"]})"),
                 "the key \"a\" twice in \"ps[1]\""));
  auto tf = [](const std::string& json) {
    auto r = parse_tf_config(json);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == StatusCode::kConfig);
    return r.status().message();
  };
  CHECK(contains(tf(R"({"cluster": {"ps": ["p:1"], "ps": ["q:1"], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0}})"),
                 "TF_CONFIG has the key \"ps\" twice in \"cluster\""));
  CHECK(contains(tf(R"({"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0, "index": 1}})"),
                 "TF_CONFIG has the key \"index\" twice in \"task\""));
  CHECK(contains(tf(R"({"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0},
                        "task": {"type": "worker", "index": 0}})"),
                 "TF_CONFIG has the key \"task\" twice at the top level"));
  CHECK(parse_tf_config(R"({"cluster": {"ps": ["p:1"], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0}})").ok());
}

TEST_CASE("cluster specs load inline or from a file", "[cluster]") {
  auto inline_spec = load_cluster_spec(R"(  {"ps": ["p:1"], "worker": ["w:1"]})");
  REQUIRE(inline_spec.ok());
  const std::string path = "cluster_spec_test.json";
  {
    std::ofstream out(path);
    out << R"({"ps": ["p:1", "p:2"], "worker": ["w:1"]})";
  }
  auto from_file = load_cluster_spec(path);
  std::remove(path.c_str());
  REQUIRE(from_file.ok());
  CHECK(from_file->num_ps() == 2);
  auto missing = load_cluster_spec("/nonexistent/cluster.json");
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == StatusCode::kIo);
  // Inline JSON that is not an object is inline JSON, not a file name; a directory is named as one.
  auto array = load_cluster_spec("[1, 2]");
  REQUIRE(!array.ok());
  CHECK(array.status().code() == StatusCode::kConfig);
  CHECK(contains(array.status().message(), "must be a JSON object"));
  auto dir = load_cluster_spec("/tmp");
  REQUIRE(!dir.ok());
  CHECK(contains(dir.status().message(), "is a directory"));
}

TEST_CASE("TF_CONFIG gives the cluster and this task", "[cluster]") {
  const std::string cluster = R"("cluster": {"ps": ["p:1", "p:2"], "worker": ["w:1", "w:2", "w:3"]})";
  auto t = parse_tf_config("{" + cluster + R"(, "task": {"type": "ps", "index": 1}})");
  REQUIRE(t.ok());
  CHECK(t->task == TaskId{Role::kPs, 1});
  CHECK(t->cluster.num_workers() == 3);
  t = parse_tf_config("{" + cluster + R"(, "task": {"type": "worker", "index": 2}})");
  REQUIRE(t.ok());
  CHECK(t->task == TaskId{Role::kWorker, 2});

  // With a chief job, the chief is worker 0 and TF's worker i is our worker i+1.
  const std::string with_chief = R"("cluster": {"chief": ["c:1"], "ps": ["p:1"], "worker": ["w:1"]})";
  t = parse_tf_config("{" + with_chief + R"(, "task": {"type": "chief", "index": 0}})");
  REQUIRE(t.ok());
  CHECK(t->task == TaskId{Role::kWorker, 0});
  t = parse_tf_config("{" + with_chief + R"(, "task": {"type": "worker", "index": 0}})");
  REQUIRE(t.ok());
  CHECK(t->task == TaskId{Role::kWorker, 1});

  auto err = [&](const std::string& json) {
    auto r = parse_tf_config(json);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == StatusCode::kConfig);
    return r.status().message();
  };
  CHECK(contains(err("{" + cluster + R"(, "task": {"type": "worker", "index": 3}})"), "out of range"));
  CHECK(contains(err("{" + cluster + R"(, "task": {"type": "ps", "index": -1}})"), "out of range"));
  CHECK(contains(err("{" + with_chief + R"(, "task": {"type": "worker", "index": 1}})"), "out of range"));
  CHECK(contains(err("{" + cluster + R"(, "task": {"type": "evaluator", "index": 0}})"), "evaluator"));
  CHECK(contains(err("{" + cluster + R"(, "task": {"type": "chief", "index": 0}})"), "no chief job"));
  CHECK(contains(err("{" + cluster + R"(, "task": {"type": "ps", "index": "0"}})"), "integer"));
  CHECK(contains(err("{" + cluster + "}"), "no \"task\""));
  CHECK(contains(err(R"({"task": {"type": "ps", "index": 0}})"), "no \"cluster\""));
  CHECK(contains(err(R"({"cluster": {"ps": [], "worker": ["w:1"]}, "task": {"type": "ps", "index": 0}})"), "TF_CONFIG: "));

  ::setenv("TF_CONFIG", ("{" + cluster + R"(, "task": {"type": "worker", "index": 0}})").c_str(), 1);
  auto env = tf_config_from_env();
  ::unsetenv("TF_CONFIG");
  REQUIRE(env.ok());
  CHECK(env->task == TaskId{Role::kWorker, 0});
  CHECK(!tf_config_from_env().ok());
}
