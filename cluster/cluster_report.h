// Rendering a finished cluster run for people (text tables) and programs (JSON fragments the app
// embeds in its `result` line): per-ps counters with the staleness histogram, per-worker counters,
// per-task transport counters, and the placement.
#pragma once

#include <string>

#include "cluster/local_cluster.h"

namespace podlab {

// [{"task":"ps:0","floats":..,"bytes":..,"variables":[{"name":..,"floats":..}, ...]}, ...]
std::string placement_json(const Placement& p, const ParamLayout& layout);
// [{"task":"ps:0","step":..,"gradients":..,"applied":..,"dropped_stale":..,...,"staleness":{"0":n,...}}, ...]
std::string ps_counters_json(const ClusterReport& r);
// [{"task":"worker:0","pushes":..,"samples":..,"retries":..,"compute_s":..,"wait_s":..,"train_loss":..,"status":"ok"}]
std::string worker_counters_json(const ClusterReport& r);
// [{"task":..,"messages_out":..,"bytes_out":..,"messages_in":..,"bytes_in":..,"lost_out":..,
//   "mean_delay_ms":..,"max_queue_depth":..,"peers":{"ps:0":{...}}}, ...]
std::string transport_counters_json(const ClusterReport& r);

// Training throughput: samples behind the gradients ps 0 applied / the chief's seconds (what
// `podlab train` reports as samples_per_s).
double cluster_samples_per_s(const ClusterReport& r);
// Samples in all gradients the workers computed (applied, dropped or late) / the chief's seconds.
double cluster_computed_samples_per_s(const ClusterReport& r);

// Multi-line text: ps table with staleness histogram, worker table, transport table.
std::string cluster_summary_text(const ClusterReport& r, const TrainingPlan& plan);

}  // namespace podlab
