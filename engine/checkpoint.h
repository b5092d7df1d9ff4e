// Checkpoints: a versioned binary file holding everything needed to resume training exactly —
// model spec, dataset name, seed, batch size, thread count, optimiser config, position (step, epoch,
// batch in epoch), the flat parameter buffer (with the variable layout, so a mismatch is caught by
// name and shape) and the optimiser's slot state — followed by a CRC-32C of all preceding bytes.
// Files are written atomically (temp file, fsync, rename, fsync dir), so a crash leaves either the
// old file or the new one, never a torn one. The byte layout is documented in checkpoint.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/optim/optimizer.h"
#include "engine/params.h"
#include "engine/status.h"
#include "engine/trainer.h"

namespace podlab {

struct Checkpoint {
  std::string model_spec;     // ModelSpec::to_string()
  std::string dataset;        // e.g. "fashion-mnist"
  int input_h = 28, input_w = 28, input_c = 1, classes = 10;
  uint64_t seed = 1;
  int batch = 100, threads = 1;
  OptimizerConfig optimizer;  // name, lr, momentum, betas, epsilon, schedule
  TrainPosition position;
  int64_t optimizer_steps = 0;
  std::vector<ParamInfo> variables;  // name, rows, cols, offset into `parameters` (init fields are not stored)
  std::vector<float> parameters;       // trainable values only, packed: no alignment padding
  std::vector<float> optimizer_slots;  // k blocks of parameters.size() floats (k = 0 sgd, 1 momentum, 2 adam)
};

// Captures / restores a trainer's full state. restore() checks model spec, layout (names and shapes)
// and optimiser against the trainer and explains any mismatch.
Checkpoint capture_checkpoint(Trainer& trainer, const std::string& dataset, Shape input, int classes);
// `fresh_start` ends the hint of a mismatch ("pass --model X or <fresh_start>"): how the caller's user
// starts without this checkpoint.
Status restore_checkpoint(const Checkpoint& ckpt, Trainer& trainer, const std::string& fresh_start = "start without --resume");

Status save_checkpoint(const std::string& path, const Checkpoint& ckpt);
Result<Checkpoint> load_checkpoint(const std::string& path);

// A checkpoint directory holds ckpt-<step>.podlab files and a `latest` text file naming the newest.
// save_checkpoint_in_dir() writes the new file, then updates `latest` (both atomically), then removes
// all but the newest `keep` files; a failure at any point leaves the previous good checkpoint usable.
Result<std::string> save_checkpoint_in_dir(const std::string& dir, const Checkpoint& ckpt, int keep = 3);
// For a run that starts afresh (not resumed) and will checkpoint into `dir`: creates it now, so that
// a path that cannot be one fails before training rather than after the first epoch (kIo), and
// refuses a directory that already holds checkpoints (kConfig): saving there would interleave this
// run's files with another run's and prune them by step, keeping some of each.
Status prepare_fresh_checkpoint_dir(const std::string& dir);
// The path of the newest checkpoint in `dir` (via `latest`, falling back to the highest step), or a
// kData error when there is none.
Result<std::string> latest_checkpoint(const std::string& dir);

}  // namespace podlab
