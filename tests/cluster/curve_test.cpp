// CURVE on the zmq transport (127.0.0.1 only): key directories as `podlab keys generate` writes them,
// their validation (every bad file is a kConfig error naming it), an authorised worker exchanging
// messages with a ps, and peers the ps must refuse (an unknown key, no CURVE at all) getting nothing
// through while the ps keeps serving and counts them.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster/curve_keys.h"
#include "cluster/transport.h"
#include "tests/cluster/zmq_test_util.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::testing;
using std::chrono::milliseconds;

namespace {

const TaskId kPs0{Role::kPs, 0}, kW0{Role::kWorker, 0}, kW1{Role::kWorker, 1};

void round_trip(Transport& ps, Transport& worker, TaskId w, uint32_t seq) {
  REQUIRE(worker.send(w, kPs0, test_message(MessageType::kPush, w, seq, std::vector<float>(5000, 0.5f))).ok());
  Envelope e;
  REQUIRE(ps.receive(kPs0, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  CHECK(e.from == w);
  auto h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->seq == seq);
  REQUIRE(ps.send(kPs0, w, test_message(MessageType::kParams, kPs0, seq, {1.f, 2.f, 3.f})).ok());
  REQUIRE(worker.receive(w, &e, milliseconds(5000)) == ReceiveStatus::kMessage);
  h = decode_message(e.data(), e.size());
  REQUIRE(h.ok());
  CHECK(h->type == MessageType::kParams);
  CHECK(h->seq == seq);
}

int64_t rejected(const Transport& t) { return t.counters().at(0).rejected_peers; }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("curve: keys generate writes a key directory that every task can load", "[cluster][curve]") {
  REQUIRE(curve_available());
  TempDir tmp;
  const std::string dir = (tmp.path / "keys" / "nested").string();
  auto written = generate_curve_key_dir(dir, 1, false);
  REQUIRE(written.ok());
  CHECK(written->size() == 5);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir + "/server.key") == 0600);
  CHECK(mode_of(dir + "/client.key") == 0600);
  CHECK(mode_of(dir + "/server.pub") == 0644);
  CHECK(mode_of(dir + "/authorized_clients") == 0644);

  auto ps = load_curve_keys(dir, kPs0);
  REQUIRE(ps.ok());
  CHECK(ps->enabled);
  CHECK(ps->server_public.size() == 40);
  CHECK(ps->server_secret.size() == 40);
  CHECK(ps->client_secret.empty());
  REQUIRE(ps->authorized.size() == 1);
  auto w = load_curve_keys(dir, kW1);
  REQUIRE(w.ok());
  CHECK(w->server_public == ps->server_public);
  CHECK(w->server_secret.empty());
  CHECK(w->authorized.size() == 0);
  CHECK(w->client_public == ps->authorized.front());
  CHECK(w->client_file == dir + "/client.key");

  // Existing keys are not replaced unless forced; forced keys are new.
  auto again = generate_curve_key_dir(dir, 1, false);
  CHECK(again.status().code() == StatusCode::kConfig);
  CHECK(again.status().message().find("--force") != std::string::npos);
  REQUIRE(generate_curve_key_dir(dir, 1, true).ok());
  CHECK(load_curve_keys(dir, kPs0)->server_public != ps->server_public);

  // One key per worker: worker I loads client-I.key.
  const std::string per = (tmp.path / "per-worker").string();
  REQUIRE(generate_curve_key_dir(per, 2, false).ok());
  auto w0 = load_curve_keys(per, kW0), w1 = load_curve_keys(per, kW1);
  REQUIRE((w0.ok() && w1.ok()));
  CHECK(w1->client_file == per + "/client-1.key");
  CHECK(w0->client_public != w1->client_public);
  CHECK(load_curve_keys(per, kPs0)->authorized.size() == 2);

  // Forced to one key for all, the old per-worker files go: worker 1 would prefer its stale
  // client-1.key, which the new authorized_clients no longer lists.
  REQUIRE(generate_curve_key_dir(per, 1, true).ok());
  CHECK_FALSE(std::filesystem::exists(per + "/client-0.key"));
  CHECK_FALSE(std::filesystem::exists(per + "/client-1.pub"));
  auto w1_new = load_curve_keys(per, kW1);
  REQUIRE(w1_new.ok());
  CHECK(w1_new->client_file == per + "/client.key");
  CHECK(load_curve_keys(per, kPs0)->authorized.front() == w1_new->client_public);
  // And back to one per worker: client.key goes.
  std::ofstream(per + "/client-77.note") << "not a key: stays";
  REQUIRE(generate_curve_key_dir(per, 2, true).ok());
  CHECK_FALSE(std::filesystem::exists(per + "/client.key"));
  CHECK(std::filesystem::exists(per + "/client-1.key"));
  CHECK(std::filesystem::exists(per + "/client-77.note"));
}

TEST_CASE("curve: bad key files are configuration errors that name the file", "[cluster][curve]") {
  TempDir tmp;
  const std::string dir = (tmp.path / "keys").string();
  REQUIRE(generate_curve_key_dir(dir, 1, false).ok());
  const std::string server_key = read_text(dir + "/server.key");
  const std::string client_pub = read_text(dir + "/client.pub");

  auto expect_config = [&](const TaskId& task, const std::string& needle) {
    auto k = load_curve_keys(dir, task);
    REQUIRE_FALSE(k.ok());
    CHECK(k.status().code() == StatusCode::kConfig);
    INFO(k.status().message());
    CHECK(k.status().message().find(needle) != std::string::npos);
  };
  {
    auto k = load_curve_keys((tmp.path / "absent").string(), kPs0);
    CHECK(k.status().code() == StatusCode::kConfig);
    CHECK(k.status().message().find("podlab keys generate") != std::string::npos);
  }
  write_text(dir + "/server.key", "public-key = \"short\"\n");
  expect_config(kPs0, "server.key line 1");
  write_text(dir + "/server.key", "this is not a key file\n");
  expect_config(kPs0, "server.key line 1");
  write_text(dir + "/server.key", "colour = \"blue\"\n");
  expect_config(kPs0, "unknown field 'colour'");
  // A public key file where the pair is needed.
  write_text(dir + "/server.key", read_text(dir + "/server.pub"));
  expect_config(kPs0, "no secret-key");
  // A secret key that does not belong to the public key beside it.
  std::string swapped = server_key;
  const size_t at = swapped.find("public-key = \"") + 14;
  swapped.replace(at, 40, client_pub.substr(client_pub.find("public-key = \"") + 14, 40));
  write_text(dir + "/server.key", swapped);
  expect_config(kPs0, "does not belong");
  write_text(dir + "/server.key", server_key);
  REQUIRE(load_curve_keys(dir, kPs0).ok());

  write_text(dir + "/authorized_clients", "# nobody\n\n");
  expect_config(kPs0, "lists no client key");
  write_text(dir + "/authorized_clients", "\"not-a-key\" someone\n");
  expect_config(kPs0, "authorized_clients line 1");
  ::unlink((dir + "/authorized_clients").c_str());
  expect_config(kPs0, "authorized_clients");

  ::unlink((dir + "/server.pub").c_str());
  expect_config(kW0, "server.pub");
  ::unlink((dir + "/client.key").c_str());
  write_text(dir + "/server.pub", read_text(dir + "/client.pub"));
  expect_config(kW0, "client.key");
}

TEST_CASE("curve: an authorised worker talks to the ps; unknown keys and plain peers get nothing through",
          "[cluster][curve][zmq]") {
  TempDir tmp;
  const std::string dir = (tmp.path / "keys").string(), other = (tmp.path / "other").string();
  REQUIRE(generate_curve_key_dir(dir, 2, false).ok());
  REQUIRE(generate_curve_key_dir(other, 1, false).ok());
  const ClusterSpec spec = loopback_spec(free_port());
  auto ps = zmq_endpoint(spec, kPs0, *load_curve_keys(dir, kPs0));
  auto worker = zmq_endpoint(spec, kW0, *load_curve_keys(dir, kW0));
  round_trip(*ps, *worker, kW0, 1);
  CHECK(rejected(*ps) == 0);

  // worker:1 with the cluster's server.pub but a client key the ps does not list: refused at the
  // handshake, a kConfig error saying so, well before the connect timeout.
  CurveKeys rogue_keys = *load_curve_keys(other, kW1);
  rogue_keys.server_public = load_curve_keys(dir, kW1)->server_public;
  auto rogue = zmq_endpoint(spec, kW1, rogue_keys);
  const auto t0 = std::chrono::steady_clock::now();
  const Status st = rogue->send(kW1, kPs0, test_message(MessageType::kPush, kW1, 1, std::vector<float>(5000, 9.f)));
  CHECK(st.code() == StatusCode::kConfig);
  CHECK(st.message().find("authorized_clients") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(10000));

  // A plain (no CURVE) DEALER claiming to be worker:1 sends a well-formed PUSH: refused too.
  void* ctx = zmq_ctx_new();
  void* raw = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(raw, ZMQ_ROUTING_ID, "worker:1", 8);
  REQUIRE(zmq_connect(raw, ("tcp://" + spec.ps[0]).c_str()) == 0);
  const Bytes push = test_message(MessageType::kPush, kW1, 2, std::vector<float>(5000, 9.f));
  zmq_send(raw, push.data(), push.size(), ZMQ_DONTWAIT);  // queued; never delivered

  // Nothing from either reaches the ps; both refusals are counted; the ps still serves worker:0.
  Envelope e;
  for (int i = 0; i < 100 && rejected(*ps) < 2; ++i) CHECK(ps->receive(kPs0, &e, milliseconds(20)) == ReceiveStatus::kTimeout);
  CHECK(ps->receive(kPs0, &e, milliseconds(200)) == ReceiveStatus::kTimeout);
  CHECK(rejected(*ps) >= 2);
  CHECK(ps->counters().at(0).messages_in == 1);
  round_trip(*ps, *worker, kW0, 2);
  CHECK(ps->counters().at(0).messages_in == 2);
  CHECK(ps->counters().at(0).peers.count("worker:1") == 0);
  zmq_close(raw);
  zmq_ctx_term(ctx);

  // A worker without keys gets a clear error too (the ps wants CURVE).
  auto plain = zmq_endpoint(spec, kW1, CurveKeys{});
  const Status pst = plain->send(kW1, kPs0, test_message(MessageType::kPull, kW1, 1));
  CHECK(pst.code() == StatusCode::kConfig);
  CHECK(pst.message().find("--keys") != std::string::npos);
}

TEST_CASE("curve: a ps built without its keys is a configuration error", "[cluster][curve]") {
  const ClusterSpec spec = loopback_spec(free_port());
  TransportConfig c;
  c.cluster = spec;
  c.local = {kPs0};
  c.curve.enabled = true;  // but no server key or authorised clients
  auto t = make_transport("zmq", c);
  CHECK(t.status().code() == StatusCode::kConfig);
}
