// Plan checks, the progress board and staleness buckets.
#include "cluster/context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "engine/log/crc32c.h"

namespace podlab {

Result<SyncMode> SyncMode::parse(const std::string& text) {
  SyncMode m;
  if (text == "async") return m;
  if (text == "sync") {
    m.kind = Kind::kSync;
    return m;
  }
  if (text.rfind("ssp:", 0) == 0) {
    const std::string k = text.substr(4);
    if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos)
      return Status::Usage("bad mode '" + text + "': K in ssp:K must be a non-negative integer (e.g. ssp:3)");
    if (k.size() > 6) return Status::Usage("bad mode '" + text + "': K in ssp:K is at most 999999 (e.g. ssp:3)");
    m.kind = Kind::kSsp;
    m.staleness = std::atoi(k.c_str());
    return m;
  }
  return Status::Usage("unknown mode '" + text + "' (expected sync, async or ssp:K)");
}

std::string SyncMode::to_string() const {
  switch (kind) {
    case Kind::kAsync: return "async";
    case Kind::kSync: return "sync";
    case Kind::kSsp: return "ssp:" + std::to_string(staleness);
  }
  return "?";
}

Status finish_plan(TrainingPlan& p, int64_t max_steps) {
  if (p.num_workers < 1) return Status::Usage("need at least one worker");
  if (p.train_count < 1) return Status::Data("the training split is empty");
  if (p.epochs < 1 && max_steps <= 0) return Status::Usage("epochs must be at least 1");
  if (p.mode.kind == SyncMode::Kind::kSync) {
    if (p.replicas_to_aggregate < 1 || p.replicas_to_aggregate > p.num_workers)
      return Status::Usage("--replicas-to-aggregate must be in 1.." + std::to_string(p.num_workers) +
                           " (the number of workers; the rest are backup workers), got " +
                           std::to_string(p.replicas_to_aggregate));
  }
  const int64_t per_step = static_cast<int64_t>(p.train.batch) * (p.mode.kind == SyncMode::Kind::kSync ? p.num_workers : 1);
  p.steps_per_epoch = (p.train_count + per_step - 1) / per_step;
  p.total_steps = p.steps_per_epoch * std::max(p.epochs, 0);
  if (max_steps > 0 && (p.total_steps == 0 || max_steps < p.total_steps)) p.total_steps = max_steps;
  return Status::Ok();
}

namespace {

// The shortest %g text that reads back as exactly `v` ("0.003", not "0.00300000003").
std::string float_text(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::string plan_agreement_text(const TrainingPlan& p, const Placement& placement) {
  const OptimizerConfig& o = p.train.optimizer;
  const std::string optimiser = "optimizer=" + o.name + " lr=" + float_text(o.lr) + " momentum=" + float_text(o.momentum) +
                                " beta1=" + float_text(o.beta1) + " beta2=" + float_text(o.beta2) +
                                " epsilon=" + float_text(o.epsilon);
  std::string shards;
  for (const Shard& sh : placement.shards) shards += (shards.empty() ? "" : ",") + std::to_string(sh.size());
  char labels[16];
  std::snprintf(labels, sizeof labels, "%08x", p.train_labels_crc);
  return "model=" + p.train.model.to_string() + " train_labels=" + labels + " " + optimiser + " lr_schedule=" + o.schedule.to_string() +
         " batch=" + std::to_string(p.train.batch) + " seed=" + std::to_string(p.train.seed) + " mode=" + p.mode.to_string() +
         " workers=" + std::to_string(p.num_workers) +
         // R means something in sync only: elsewhere a task given --replicas-to-aggregate is not refused
         (p.mode.kind == SyncMode::Kind::kSync ? " replicas_to_aggregate=" + std::to_string(p.replicas_to_aggregate) : "") +
         " train_samples=" + std::to_string(p.train_count) + " total_steps=" + std::to_string(p.total_steps) +
         " placement=" + placement.strategy + ":" + shards +
         // a task still in an earlier job (same flags or not) is refused by the next job's ps
         (p.job_id ? " job=" + std::to_string(p.job_id) : "");
}

bool trains_on_with(const SyncMode& mode, int replicas_to_aggregate, int live) {
  switch (mode.kind) {
    case SyncMode::Kind::kAsync: return live >= 1;
    case SyncMode::Kind::kSync: return live >= replicas_to_aggregate;
    case SyncMode::Kind::kSsp: return false;
  }
  return false;
}

uint32_t plan_fingerprint(const std::string& agreement_text) {
  const uint32_t crc = crc32c(agreement_text.data(), agreement_text.size());
  return crc ? crc : 1;
}

ProgressBoard::ProgressBoard(const std::vector<TaskId>& tasks) : tasks_(tasks), entries_(tasks.size()) {
  for (size_t i = 0; i < tasks.size(); ++i) entries_[i].name = tasks[i].name();
}

void ProgressBoard::publish(const TaskId& task, const TaskProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < tasks_.size(); ++i)
    if (tasks_[i] == task) {
      entries_[i] = p;
      entries_[i].name = task.name();
    }
}

std::vector<TaskProgress> ProgressBoard::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_;
}

int staleness_bucket(int64_t s) {
  if (s <= 3) return static_cast<int>(std::max<int64_t>(s, 0));
  if (s < 8) return 4;
  if (s < 16) return 5;
  if (s < 32) return 6;
  return 7;
}

const char* staleness_bucket_label(int b) {
  static const char* const kLabels[kStalenessBuckets] = {"0", "1", "2", "3", "4-7", "8-15", "16-31", "32+"};
  return b >= 0 && b < kStalenessBuckets ? kLabels[b] : "?";
}

}  // namespace podlab
