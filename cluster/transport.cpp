// The transport base class (endpoint checks and counters shared by every implementation) and the
// factory that picks one by name.
#include "cluster/transport.h"

namespace podlab {

// Defined in transport_inproc.cpp; the class itself stays private to that file.
std::unique_ptr<Transport> new_inproc_transport(const TransportConfig& config);
// Defined in transport_zmq.cpp (the only file that includes zmq.h); binds/connects, hence a Result.
Result<std::unique_ptr<Transport>> new_zmq_transport(const TransportConfig& config);

Bytes Envelope::take_bytes() {
  Bytes b = view ? Bytes(view, view + view_size) : std::move(bytes);
  bytes.clear();
  view = nullptr;
  view_size = 0;
  held.reset();
  return b;
}

bool Envelope::copy_payload(const MessageHeader& header, float* out) const {
  if (!payload_unchecked) {
    read_payload(data(), header, out);
    return true;
  }
  return copy_payload_checked(data(), header, out);
}

bool Envelope::check_payload() const { return !payload_unchecked || decode_message(data(), size()).ok(); }

Transport::Transport(std::string name, TransportConfig config) : name_(std::move(name)), config_(std::move(config)) {
  for (const TaskId& t : config_.local) counters_[t].name = t.name();
}

EndpointCounters* Transport::counters_for(const TaskId& t) {
  auto it = counters_.find(t);
  return it == counters_.end() ? nullptr : &it->second;
}

Status Transport::send(const TaskId& from, const TaskId& to, Bytes bytes) {
  if (!config_.cluster.contains(to) && to.role != Role::kClient)
    return Status::Network("send to unknown task " + to.name());
  {
    std::lock_guard<std::mutex> lock(mu_);
    EndpointCounters* c = counters_for(from);
    if (!c) return Status::Internal("send from " + from.name() + ", which is not local to this transport");
    ++c->messages_out;
    c->bytes_out += static_cast<int64_t>(bytes.size());
    PeerCounters& p = c->peers[to.name()];
    ++p.messages_out;
    p.bytes_out += static_cast<int64_t>(bytes.size());
  }
  return deliver(from, to, std::move(bytes));
}

ReceiveStatus Transport::receive(const TaskId& self, Envelope* out, std::chrono::milliseconds timeout, PayloadCheck check) {
  out->payload_unchecked = false;
  const ReceiveStatus st = wait_for(self, out, timeout, check);
  if (st != ReceiveStatus::kMessage) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) {
    ++c->messages_in;
    c->bytes_in += static_cast<int64_t>(out->size());
    c->delay_ms_in += out->delay_ms;
    PeerCounters& p = c->peers[out->from.name()];
    ++p.messages_in;
    p.bytes_in += static_cast<int64_t>(out->size());
  }
  return st;
}

std::vector<EndpointCounters> Transport::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EndpointCounters> all;
  for (const auto& [task, c] : counters_) all.push_back(c);
  return all;
}

void Transport::count_lost(const TaskId& from) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(from)) ++c->lost_out;
}

void Transport::count_queue_depth(const TaskId& self, size_t depth) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) {
    c->queue_depth = depth;
    if (depth > c->max_queue_depth) c->max_queue_depth = depth;
  }
}

void Transport::count_slowdown(const TaskId& self, double ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) c->slowdown_ms += ms;
}

void Transport::count_malformed(const TaskId& self) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) ++c->malformed_in;
}

void Transport::count_rejected(const TaskId& self) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) ++c->rejected_peers;
}

void Transport::count_duplicate(const TaskId& self) {
  std::lock_guard<std::mutex> lock(mu_);
  if (EndpointCounters* c = counters_for(self)) ++c->duplicates_refused;
}

Result<std::unique_ptr<Transport>> make_transport(const std::string& name, const TransportConfig& config) {
  PODLAB_RETURN_IF_ERROR(validate_cluster_spec(config.cluster));
  for (const TaskId& t : config.local)
    if (!config.cluster.contains(t) && t.role != Role::kClient) return Status::Config("local task " + t.name() + " is not in the cluster spec");
  const LinkModel& l = config.link;
  if (l.latency_ms < 0 || l.jitter_ms < 0 || l.bandwidth_mbps < 0 || !(l.loss >= 0 && l.loss < 1))
    return Status::Usage("simulated network: latency, jitter and bandwidth must be >= 0 and loss in [0, 1)");
  for (double f : config.worker_slowdown)
    if (!(f >= 1.0)) return Status::Usage("worker slow-down factors must be >= 1");
  if (name == "inproc") return new_inproc_transport(config);
  if (name == "zmq") return new_zmq_transport(config);
  return Status::Usage("unknown transport '" + name + "' (expected inproc or zmq)");
}

}  // namespace podlab
