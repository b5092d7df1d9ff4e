// Helpers for the cluster training tests: a small synthetic dataset, configs, and running a
// whole in-process cluster quietly.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>

#include "cluster/local_cluster.h"
#include "tests/engine/synthetic_data.h"

namespace podlab::testing {

inline Dataset synthetic_dataset(int train, int test) {
  Dataset d;
  d.name = "synthetic";
  d.train = synthetic_split(train, 11);
  d.test = synthetic_split(test, 12);
  return d;
}

inline TrainConfig train_config(const std::string& spec, const std::string& opt, float lr, int batch,
                                int threads = 1, uint64_t seed = 5) {
  TrainConfig c;
  c.model = *ModelSpec::parse(spec);
  c.optimizer.name = opt;
  c.optimizer.lr = lr;
  c.batch = batch;
  c.threads = threads;
  c.seed = seed;
  return c;
}

struct ClusterSetup {
  TrainConfig train;
  std::string mode = "sync";
  int ps = 1, workers = 1, replicas = 0, epochs = 2;
  std::string placement = "round-robin";
  TransportConfig network;
  int retry_ms = 1000;
  bool overlap = false;  // async: compute the next gradient while a push is answered (--overlap)
  int64_t max_steps = 0;
  int heartbeat_ms = 500, heartbeat_timeout_ms = 3000;
  int peer_timeout_ms = 30000;
  std::string checkpoint_dir;
  int64_t checkpoint_every_steps = 0;
};

inline Result<ClusterReport> try_run_cluster(const ClusterSetup& s, const Dataset& data,
                                             LocalClusterObserver* observer = nullptr,
                                             double progress_interval_s = 1000) {
  LocalClusterOptions o;
  o.plan.train = s.train;
  o.plan.mode = *SyncMode::parse(s.mode);
  o.plan.num_workers = s.workers;
  o.plan.replicas_to_aggregate = s.replicas > 0 ? s.replicas : s.workers;
  o.plan.epochs = s.epochs;
  o.plan.train_count = data.train.count;
  o.plan.retry_ms = s.retry_ms;
  o.plan.overlap = s.overlap;
  o.plan.heartbeat_ms = s.heartbeat_ms;
  o.plan.heartbeat_timeout_ms = s.heartbeat_timeout_ms;
  o.plan.peer_timeout_ms = s.peer_timeout_ms;
  o.plan.checkpoint_dir = s.checkpoint_dir;
  o.plan.checkpoint_every_steps = s.checkpoint_every_steps;
  o.plan.dataset = data.name;
  REQUIRE(finish_plan(o.plan, s.max_steps).ok());
  o.num_ps = s.ps;
  o.placement = s.placement;
  o.network = s.network;
  o.progress_interval_s = progress_interval_s;
  o.grace_ms = 500;
  return run_local_cluster(o, data, observer);
}

inline ClusterReport run_cluster(const ClusterSetup& s, const Dataset& data) {
  auto r = try_run_cluster(s, data);
  if (!r.ok()) FAIL(r.status().message());
  return std::move(*r);
}

// ||a - b|| / ||b||
inline double relative_difference(const FloatBuffer& a, const FloatBuffer& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

}  // namespace podlab::testing
