// The flags shared by every command that builds a model and its data (train, eval, cluster, lessons):
// model spec, dataset, hyper-parameters. Zero/empty means "the model's default" (train_defaults.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "engine/checkpoint.h"
#include "engine/data/dataset.h"
#include "engine/trainer.h"

namespace podlab {

struct SetupFlags {
  std::string model = "mlp:200,200";
  std::string dataset, data_dir;
  std::string optimizer, lr_schedule;  // empty schedule: the model's default decay per epoch
  float lr = 0, momentum = 0.9f;
  int batch = 0, epochs = 0, threads = 1;
  uint64_t seed = 1;
  int limit_train = 0, limit_test = 0;
  bool model_given = false;
  bool shape_only = false;  // load the dataset's shape and counts, not its samples (a ps task)
  std::optional<OptimizerConfig> resume_optimizer;  // set by apply_checkpoint_defaults
};

void add_setup_flags(CLI::App& cmd, SetupFlags& flags);

struct Setup {
  Dataset data;
  std::unique_ptr<Trainer> trainer;
  // The flags named no schedule and make_setup filled in the model's default decay per epoch, for
  // steps of one batch (a sync cluster step covers more samples and recomputes it).
  bool default_schedule = false;
};

// Validates the flags, fills in defaults (flags.epochs too), finds and loads the dataset, builds the trainer.
Result<Setup> make_setup(SetupFlags& flags);

// For --resume: takes model, optimiser, batch, seed and thread count from the checkpoint where the
// flags left them at their defaults.
void apply_checkpoint_defaults(const Checkpoint& ckpt, SetupFlags& flags);

}  // namespace podlab
