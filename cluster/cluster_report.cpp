// Tables and JSON for a finished run (nlohmann::json builds the JSON, so escaping is its problem).
#include "cluster/cluster_report.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace podlab {
namespace {

using nlohmann::json;

json variables_of(const Shard& s, const ParamLayout& layout) {
  json vars = json::array();
  for (const VariableShare& v : shard_variables(s, layout)) {
    const ParamInfo& info = layout[static_cast<int>(v.index)];
    vars.push_back({{"name", info.name}, {"floats", v.floats()}, {"whole", v.floats() == info.size()}});
  }
  return vars;
}

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

std::string placement_json(const Placement& p, const ParamLayout& layout) {
  json a = json::array();
  for (int k = 0; k < p.num_shards(); ++k) {
    const Shard& s = p.shards[k];
    const size_t n = shard_parameters(s, layout);
    a.push_back({{"task", "ps:" + std::to_string(k)}, {"floats", n}, {"bytes", n * 4},
                 {"variables", variables_of(s, layout)}});
  }
  return a.dump();
}

std::string ps_counters_json(const ClusterReport& r) {
  json a = json::array();
  for (const PsStats& s : r.ps) {
    json hist = json::object();
    for (int b = 0; b < kStalenessBuckets; ++b) hist[staleness_bucket_label(b)] = s.staleness[b];
    a.push_back({{"task", "ps:" + std::to_string(s.shard)}, {"floats", s.floats}, {"step", s.step},
                 {"gradients", s.gradients}, {"applied", s.applied}, {"samples_applied", s.samples_applied}, {"dropped_stale", s.dropped_stale},
                 {"dropped_late", s.dropped_late}, {"duplicates", s.duplicates}, {"bad_messages", s.bad_messages},
                 {"mean_staleness", s.mean_staleness()},
                 {"max_staleness", s.max_staleness}, {"staleness", hist}, {"restored_step", s.restored_step},
                 {"worker_restarts", s.worker_restarts}, {"heartbeats", s.heartbeats},
                 {"heartbeat_age_s", s.heartbeat_age_s}});
  }
  return a.dump();
}

std::string worker_counters_json(const ClusterReport& r) {
  json a = json::array();
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerStats& w = r.workers[i];
    const Status& st = i < r.worker_status.size() ? r.worker_status[i] : Status::Ok();
    a.push_back({{"task", "worker:" + std::to_string(w.index)}, {"pushes", w.pushes}, {"samples", w.samples},
                 {"retries", w.retries}, {"compute_s", w.compute_s}, {"wait_s", w.wait_s},
                 {"train_loss", w.train_loss}, {"heartbeats", w.heartbeats}, {"checkpoints", w.checkpoints},
                 {"heartbeat_age_s", w.heartbeat_age_s}, {"status", st.ok() ? "ok" : st.message()}});
  }
  return a.dump();
}

std::string transport_counters_json(const ClusterReport& r) {
  json a = json::array();
  for (const EndpointCounters& c : r.transport) {
    json peers = json::object();
    for (const auto& [name, p] : c.peers)
      peers[name] = {{"messages_out", p.messages_out}, {"bytes_out", p.bytes_out},
                     {"messages_in", p.messages_in}, {"bytes_in", p.bytes_in}};
    a.push_back({{"task", c.name}, {"messages_out", c.messages_out}, {"bytes_out", c.bytes_out},
                 {"messages_in", c.messages_in}, {"bytes_in", c.bytes_in}, {"lost_out", c.lost_out},
                 {"mean_delay_ms", c.messages_in ? c.delay_ms_in / c.messages_in : 0.0},
                 {"slowdown_ms", c.slowdown_ms}, {"max_queue_depth", c.max_queue_depth},
                 {"malformed_in", c.malformed_in}, {"rejected_peers", c.rejected_peers},
                 {"duplicates_refused", c.duplicates_refused}, {"peers", peers}});
  }
  return a.dump();
}

double cluster_samples_per_s(const ClusterReport& r) {
  const int64_t samples = r.ps.empty() ? 0 : r.ps[0].samples_applied;
  return r.chief.seconds > 0 ? samples / r.chief.seconds : 0;
}

double cluster_computed_samples_per_s(const ClusterReport& r) {
  int64_t samples = 0;
  for (const WorkerStats& w : r.workers) samples += w.samples;
  return r.chief.seconds > 0 ? samples / r.chief.seconds : 0;
}

std::string cluster_summary_text(const ClusterReport& r, const TrainingPlan& plan) {
  std::string out;
  char line[256];
  out += "ps tasks (staleness = updates applied between a gradient's version and its arrival)\n";
  std::snprintf(line, sizeof line, "  %-7s %9s %9s %9s %9s %7s %7s %6s  %s\n", "task", "step", "gradients", "applied",
                "stale", "late", "dupes", "mean", "staleness histogram");
  out += line;
  for (const PsStats& s : r.ps) {
    std::string hist;
    for (int b = 0; b < kStalenessBuckets; ++b)
      if (s.staleness[b]) hist += std::string(staleness_bucket_label(b)) + ":" + std::to_string(s.staleness[b]) + " ";
    std::snprintf(line, sizeof line, "  ps:%-4d %9lld %9lld %9lld %9lld %7lld %7lld %6.2f  %s\n", s.shard,
                  static_cast<long long>(s.step), static_cast<long long>(s.gradients), static_cast<long long>(s.applied),
                  static_cast<long long>(s.dropped_stale), static_cast<long long>(s.dropped_late),
                  static_cast<long long>(s.duplicates), s.mean_staleness(), hist.c_str());
    out += line;
  }
  out += "heartbeats (seconds since each ps last heard from a worker; dead after " +
         fmt("%.1f", plan.heartbeat_timeout_ms / 1000.0) + " s)\n";
  for (const PsStats& s : r.ps) {
    std::string ages;
    for (const auto& [name, age] : s.heartbeat_age_s)
      ages += "  " + name + " " + fmt("%.2f", age) + (age * 1000 > plan.heartbeat_timeout_ms ? " DEAD" : "");
    std::snprintf(line, sizeof line, "  ps:%-4d%s", s.shard, ages.c_str());
    out += line;
    if (s.restored_step >= 0) out += "  (restored step " + std::to_string(s.restored_step) + ")";
    if (s.worker_restarts > 0) out += "  (" + std::to_string(s.worker_restarts) + " worker restarts)";
    out += "\n";
  }
  out += "workers\n";
  std::snprintf(line, sizeof line, "  %-9s %8s %9s %8s %10s %8s %8s  %s\n", "task", "pushes", "samples", "retries",
                "compute s", "wait s", "loss", "status");
  out += line;
  for (size_t i = 0; i < r.workers.size(); ++i) {
    const WorkerStats& w = r.workers[i];
    const Status& st = i < r.worker_status.size() ? r.worker_status[i] : Status::Ok();
    std::snprintf(line, sizeof line, "  worker:%-2d %8lld %9lld %8lld %10.2f %8.2f %8.4f  %s\n", w.index,
                  static_cast<long long>(w.pushes), static_cast<long long>(w.samples), static_cast<long long>(w.retries),
                  w.compute_s, w.wait_s, w.train_loss, st.ok() ? "ok" : st.message().c_str());
    out += line;
  }
  out += "transport (" + std::string(plan.mode.to_string()) + ")\n";
  std::snprintf(line, sizeof line, "  %-9s %9s %11s %9s %11s %6s %10s %7s %9s %8s\n", "task", "msgs out", "MiB out", "msgs in",
                "MiB in", "lost", "delay ms", "queue", "malformed", "refused");
  out += line;
  for (const EndpointCounters& c : r.transport) {
    std::snprintf(line, sizeof line, "  %-9s %9lld %11s %9lld %11s %6lld %10s %7zu %9lld %8lld\n", c.name.c_str(),
                  static_cast<long long>(c.messages_out), fmt("%.2f", c.bytes_out / 1048576.0).c_str(),
                  static_cast<long long>(c.messages_in), fmt("%.2f", c.bytes_in / 1048576.0).c_str(),
                  static_cast<long long>(c.lost_out), fmt("%.2f", c.messages_in ? c.delay_ms_in / c.messages_in : 0.0).c_str(),
                  c.max_queue_depth, static_cast<long long>(c.malformed_in), static_cast<long long>(c.rejected_peers));
    out += line;
  }
  return out;
}

}  // namespace podlab
