// The epoch loop shared by `podlab train`, lessons and the GUI's headless runs: step until `epochs`
// (or `max_steps`) is reached, evaluate on the test split after each epoch, and report through an
// observer. The loop itself prints nothing and owns no files; observers do the I/O.
#pragma once

#include <cstdint>

#include "engine/data/dataset.h"
#include "engine/trainer.h"

namespace podlab {

struct LoopOptions {
  int epochs = 5;
  int64_t max_steps = 0;      // > 0: stop after this many optimiser steps in total
  int eval_limit = 0;         // > 0: evaluate on at most this many test samples per epoch
  int report_every = 50;      // steps between on_progress calls
};

struct ProgressReport {
  int64_t step = 0, total_steps = 0;
  int epoch = 0;              // 0-based epoch in progress
  double epoch_fraction = 0;  // position within the epoch, 0..1
  double loss = 0, accuracy = 0;  // running means since the last report
  double samples_per_s = 0;
  double elapsed_s = 0;
  float learning_rate = 0;
};

struct EpochReport {
  int epoch = 0;              // 1-based: epochs completed
  int64_t step = 0;
  double train_loss = 0, train_accuracy = 0;  // means over the epoch's batches (training mode)
  EvalResult test;
  double elapsed_s = 0, epoch_s = 0, samples_per_s = 0;
};

class LoopObserver {
 public:
  virtual ~LoopObserver() = default;
  virtual void on_progress(const ProgressReport&) {}
  // Returning a non-ok Status (e.g. a failed checkpoint write) stops the loop with that status.
  virtual Status on_epoch_end(const EpochReport&) { return Status::Ok(); }
  // Polled before every step; true stops the loop (the caller then saves state).
  virtual bool should_stop() { return false; }
};

struct LoopResult {
  bool interrupted = false;
  int64_t steps = 0;
  int epochs_completed = 0;
  double seconds = 0;
  double train_samples_per_s = 0;
  EvalResult last_test;       // from the last completed epoch (or a final evaluation)
};

// Continues from the trainer's current position (so a resumed run finishes the same schedule). A
// step whose loss is not finite ends the loop with diverged(): nothing later would be worth keeping,
// and the last checkpoint an observer saved stays the good one.
Result<LoopResult> run_training(Trainer& trainer, const Dataset& data, const LoopOptions& options,
                                LoopObserver& observer);

// kConfig "training diverged at step N: the loss is nan ...; lower the learning rate (--lr)", as
// TensorFlow's NanTensorHook stops a run: shared with the cluster's workers.
Status diverged(int64_t step, double loss);

}  // namespace podlab
