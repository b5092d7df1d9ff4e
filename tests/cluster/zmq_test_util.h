// Helpers for the zmq transport tests: free loopback ports, a loopback cluster spec, one task's zmq
// endpoint (optionally with CURVE keys) and protocol messages to send through it.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "cluster/transport.h"

namespace podlab::testing {

// A port nobody listens on right now (the kernel's pick for port 0).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One ps at `ps_port` and two workers, all on 127.0.0.1.
inline ClusterSpec loopback_spec(int ps_port) {
  ClusterSpec spec;
  spec.ps = {"127.0.0.1:" + std::to_string(ps_port)};
  spec.worker = {"127.0.0.1:" + std::to_string(free_port()), "127.0.0.1:" + std::to_string(free_port())};
  return spec;
}

// A zmq transport serving task `self` alone, as its own process would have.
inline std::unique_ptr<Transport> zmq_endpoint(const ClusterSpec& spec, TaskId self, const CurveKeys& keys = {}) {
  TransportConfig c;
  c.cluster = spec;
  c.local = {self};
  c.curve = keys;
  auto t = make_transport("zmq", c);
  REQUIRE(t.ok());
  return std::move(*t);
}

inline Bytes test_message(MessageType type, TaskId from, uint32_t seq, const std::vector<float>& floats = {}) {
  MessageHeader h;
  h.type = type;
  h.sender_role = from.role;
  h.sender_index = static_cast<uint16_t>(from.index);
  h.seq = seq;
  h.count = static_cast<uint32_t>(floats.size());
  return encode_message(h, floats.empty() ? nullptr : floats.data());
}

}  // namespace podlab::testing
