// bench/pushpull: what one push of the MLP gradient plus one pull of its parameters costs over the
// zmq transport on 127.0.0.1, against a raw ZeroMQ exchange of the same bytes measured in the same
// run (alternating blocks, medians). podlab path, as the ps and workers do it: the worker encodes a
// PUSH (header + CRC-32C) into a buffer the transport recycled, the zmq transport sends it (zero-copy),
// checks the checksums in zmq's receive buffer and hands the ps a view of it; the ps applies plain SGD
// to its values reading the gradient where it lies and answers PARAMS the same way, which the worker
// copies into its parameters, checking the payload checksum as it copies (PayloadCheck::kByReader). Raw path: DEALER zmq_send of the same byte count,
// ROUTER receives it and zmq_sends as many bytes back, DEALER receives.
// Usage: podlab_pushpull [FLOATS=199210] [ROUNDS=200] [BLOCKS=10]
#include <time.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "cluster/transport.h"

using namespace podlab;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// CPU time of the whole process (every thread, kernel time included), in ms: less sensitive than the
// wall clock to other work on a shared machine.
double process_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct Timing {
  double wall_ms = 0, cpu_ms = 0;  // per exchange
};

// Raw ZeroMQ: `rounds` exchanges of `bytes` each way; returns the time per exchange.
Timing raw_block(void* ctx, int port, size_t bytes, int rounds) {
  void* router = zmq_socket(ctx, ZMQ_ROUTER);
  void* dealer = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  const std::string ep = "tcp://127.0.0.1:" + std::to_string(port);
  if (zmq_bind(router, ep.c_str()) != 0 || zmq_connect(dealer, ep.c_str()) != 0) {
    std::fprintf(stderr, "podlab_pushpull: raw zmq on %s: %s\n", ep.c_str(), zmq_strerror(zmq_errno()));
    std::exit(1);
  }
  std::vector<uint8_t> out(bytes, 1), back(bytes, 2);
  std::thread server([&] {
    for (int i = 0; i <= rounds; ++i) {
      zmq_msg_t id, body;
      zmq_msg_init(&id);
      zmq_msg_init(&body);
      zmq_msg_recv(&id, router, 0);
      zmq_msg_recv(&body, router, 0);
      zmq_msg_send(&id, router, ZMQ_SNDMORE);
      zmq_send(router, back.data(), back.size(), 0);
      zmq_msg_close(&body);
    }
  });
  auto once = [&] {
    zmq_send(dealer, out.data(), out.size(), 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, dealer, 0);
    zmq_msg_close(&m);
  };
  once();  // connect and warm up
  const auto t0 = Clock::now();
  const double c0 = process_cpu_ms();
  for (int i = 0; i < rounds; ++i) once();
  const Timing t{std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / rounds, (process_cpu_ms() - c0) / rounds};
  server.join();
  zmq_close(dealer);
  zmq_close(router);
  return t;
}

// podlab's protocol over the zmq transport; returns the time per push + pull.
Timing podlab_block(int ps_port, int worker_port, size_t floats, int rounds) {
  ClusterSpec spec;
  spec.ps = {"127.0.0.1:" + std::to_string(ps_port)};
  spec.worker = {"127.0.0.1:" + std::to_string(worker_port)};
  const TaskId ps_id{Role::kPs, 0}, w_id{Role::kWorker, 0};
  TransportConfig pc, wc;
  pc.cluster = wc.cluster = spec;
  pc.local = {ps_id};
  wc.local = {w_id};
  auto ps = make_transport("zmq", pc);
  auto worker = make_transport("zmq", wc);
  if (!ps.ok() || !worker.ok()) {
    std::fprintf(stderr, "podlab_pushpull: cannot open the zmq transport: %s\n",
                 (!ps.ok() ? ps.status() : worker.status()).message().c_str());
    std::exit(1);
  }
  std::thread server([&] {
    std::vector<float> values(floats, 0.5f), grad(floats);
    for (int i = 0; i <= rounds; ++i) {
      Envelope e;
      if ((*ps)->receive(ps_id, &e, std::chrono::milliseconds(10000)) != ReceiveStatus::kMessage) return;
      auto h = decode_header(e.data(), e.size());
      if (!h.ok()) return;
      const float* g = payload_floats(e.data());
      if (!g) {
        read_payload(e.data(), *h, grad.data());
        g = grad.data();
      }
      for (size_t k = 0; k < floats; ++k) values[k] -= 0.01f * g[k];
      MessageHeader r;
      r.type = MessageType::kParams;
      r.sender_role = Role::kPs;
      r.seq = h->seq;
      r.step = i;
      r.count = static_cast<uint32_t>(floats);
      Bytes spare = (*ps)->reuse_buffer(kHeaderBytes + 4 * floats);
      encode_message_into(r, values.data(), &spare);
      (void)(*ps)->send(ps_id, w_id, std::move(spare));
    }
  });
  std::vector<float> grads(floats, 0.25f), params(floats);
  Bytes spare;
  uint32_t seq = 0;
  auto once = [&] {
    MessageHeader h;
    h.type = MessageType::kPush;
    h.sender_role = Role::kWorker;
    h.seq = ++seq;
    h.aux = 100;
    h.count = static_cast<uint32_t>(floats);
    if (spare.capacity() < kHeaderBytes + 4 * floats) spare = (*worker)->reuse_buffer(kHeaderBytes + 4 * floats);
    encode_message_into(h, grads.data(), &spare);
    (void)(*worker)->send(w_id, ps_id, std::move(spare));
    Envelope e;
    if ((*worker)->receive(w_id, &e, std::chrono::milliseconds(10000), PayloadCheck::kByReader) != ReceiveStatus::kMessage)
      std::exit(1);
    auto r = decode_header(e.data(), e.size());
    if (!r.ok() || !e.copy_payload(*r, params.data())) std::exit(1);
  };
  once();
  const auto t0 = Clock::now();
  const double c0 = process_cpu_ms();
  for (int i = 0; i < rounds; ++i) once();
  const Timing t{std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / rounds, (process_cpu_ms() - c0) / rounds};
  server.join();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t floats = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 199210;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 200;
  const int blocks = argc > 3 ? std::atoi(argv[3]) : 10;
  if (floats == 0 || rounds < 1 || blocks < 1) {
    std::fprintf(stderr, "usage: podlab_pushpull [FLOATS] [ROUNDS] [BLOCKS]\n");
    return 2;
  }
  const size_t bytes = kHeaderBytes + 4 * floats;
  void* ctx = zmq_ctx_new();
  std::vector<double> raw, ours, raw_cpu, ours_cpu;
  for (int b = 0; b < blocks; ++b) {
    auto ports = free_ports(3);  // fresh ones per block: a closed port may linger in TIME_WAIT
    if (!ports.ok()) {
      std::fprintf(stderr, "podlab_pushpull: %s\n", ports.status().message().c_str());
      return 1;
    }
    const Timing r = raw_block(ctx, (*ports)[0], bytes, rounds);
    const Timing o = podlab_block((*ports)[1], (*ports)[2], floats, rounds);
    raw.push_back(r.wall_ms);
    raw_cpu.push_back(r.cpu_ms);
    ours.push_back(o.wall_ms);
    ours_cpu.push_back(o.cpu_ms);
  }
  zmq_ctx_term(ctx);
  const double r = median(raw), o = median(ours), rc = median(raw_cpu), oc = median(ours_cpu);
  const double rmin = *std::min_element(raw.begin(), raw.end()), omin = *std::min_element(ours.begin(), ours.end());
  std::printf("{\"work\":\"pushpull\",\"floats\":%zu,\"bytes_each_way\":%zu,\"rounds\":%d,\"blocks\":%d,"
              "\"raw_zmq_ms\":%.4f,\"podlab_ms\":%.4f,\"ratio\":%.3f,\"goal\":1.3,"
              "\"raw_zmq_min_ms\":%.4f,\"podlab_min_ms\":%.4f,\"ratio_of_min\":%.3f,"
              "\"raw_zmq_cpu_ms\":%.4f,\"podlab_cpu_ms\":%.4f,\"cpu_ratio\":%.3f}\n",
              floats, bytes, rounds, blocks, r, o, o / r, rmin, omin, omin / rmin, rc, oc, oc / rc);
  return 0;
}
