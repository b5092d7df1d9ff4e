// Trainer: one model's parameters, optimiser and data order, stepping through mini-batches.
//
// Data-parallel over `threads` replicas: each step's batch is cut into `threads` contiguous slices;
// replica t runs forward/backward on slice t into its own gradient buffer; the buffers are summed in a
// fixed order, thread t summing (and applying the optimiser to) slice t of the parameter buffer. So
// the result is bit-for-bit the same for the same seed and thread count.
// Once the batch size is stable, step() allocates nothing (tests/engine/alloc_test.cpp).
// Data order: epoch e visits the training set in the permutation drawn from (seed, e); the last batch
// of an epoch may be smaller. A (step, epoch, batch-in-epoch) position plus parameters and optimiser
// slots is the whole state: restoring it continues exactly as the uninterrupted run would.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/feature_split.h"
#include "engine/network.h"
#include "engine/optim/optimizer.h"
#include "engine/loss.h"
#include "engine/parallel.h"

namespace podlab {

struct TrainConfig {
  ModelSpec model;
  OptimizerConfig optimizer;
  int batch = 100;
  int threads = 1;
  uint64_t seed = 1;
};

struct StepResult {
  double loss = 0;      // mean over the batch
  double accuracy = 0;  // fraction correct in the batch (training mode)
  int samples = 0;
};

struct EvalResult {
  double loss = 0, accuracy = 0;
  int samples = 0;
  std::vector<int64_t> confusion;  // classes x classes, row = true label, column = predicted
  std::vector<uint8_t> predicted;  // per evaluated sample (the first `samples` of the split): its class
};

struct TrainPosition {
  int64_t step = 0;   // optimiser steps taken
  int epoch = 0;      // current epoch (0-based)
  int batch_in_epoch = 0;
};

// The permutation of [0, count) that a trainer with `seed` visits in `epoch` (Fisher-Yates over
// Rng(derive_seed(seed, 0x5EED0F0E, epoch))), written into `order`.
void epoch_order(uint64_t seed, int epoch, int count, std::vector<int>& order);

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> create(const TrainConfig& config, Shape input, int classes);

  const TrainConfig& config() const { return config_; }
  Network& network() { return *replicas_[0]; }
  const ParamLayout& layout() const { return replicas_[0]->layout(); }
  FloatBuffer& parameters() { return values_; }
  Optimizer& optimizer() { return *optimizer_; }
  const TrainPosition& position() const { return pos_; }
  void set_position(const TrainPosition& p) { pos_ = p; }
  int batches_per_epoch(const Split& train) const;

  // One optimiser step on the next batch of `train`; advances the position (and the epoch at its end).
  StepResult step(const Split& train);
  // Gradient of the mean loss on the next batch, without updating anything but the position; for
  // cluster workers, which push gradients instead of stepping. `grads` gets layout().total() floats.
  StepResult compute_gradients(const Split& train, FloatBuffer& grads);
  // The same computation on an explicit sample list idx[0..n) (n >= 1), with dropout seeded as at
  // optimiser step `step`; leaves the gradient in summed_gradient() and moves no position. Cluster
  // workers use it for "slice i of global batch s".
  StepResult gradients_on(const Split& train, const int* idx, int n, int64_t step);
  // The gradient of the last gradients_on / compute_gradients (layout().total() floats). After step()
  // with several threads it holds replica 0's part only: the sum is applied slice by slice, not kept.
  const FloatBuffer& summed_gradient() const { return grads_[0]; }
  // Loss, accuracy and confusion matrix on up to `limit` samples (0 = all) of `split`, in inference mode.
  // `after_chunk`, when set, is called on the calling thread after each chunk of kEvalChunk samples it
  // evaluated (tens of milliseconds for the CNN here, well under a heartbeat even on a loaded
  // machine), e.g. to keep a network peer told it is alive. Threads take chunks in turn.
  static constexpr int kEvalChunk = 100;
  EvalResult evaluate(const Split& split, int limit = 0, const std::function<void()>& after_chunk = {});
  // Class probabilities for images x (n, features).
  void predict(const Matrix& x, Matrix& probs);

 private:
  Trainer() = default;
  void next_batch_indices(const Split& train, int* n);  // fills batch_idx_, advances position
  // Forward/backward of the next batch on every replica; leaves the summed gradient in grads_[0].
  StepResult gradients_in_place(const Split& train);
  // Forward/backward of idx[0..n) split over the replicas, then the gradient sum; with `update` the
  // optimiser step too (but the position is not moved).
  StepResult run_step(const Split& train, const int* idx, int n, int64_t step, bool update);
  // Over floats [lo, hi): grads_[0] += grads_[1..parts).
  void sum_into_first(int parts, size_t lo, size_t hi);
  // Over floats [lo, hi), kSumChunk at a time: the replica sum into `chunk`, then the optimiser's
  // update of that range.
  void sum_and_update(int parts, size_t lo, size_t hi, float* chunk);
  static constexpr size_t kSumChunk = 4096;  // 16 KB: stays in L1 between the sum and the update
  TrainConfig config_;
  int classes_ = 10;
  FloatBuffer values_;
  std::vector<FloatBuffer> grads_;  // per replica; after a step grads_[0] holds the sum
  std::vector<std::unique_ptr<Network>> replicas_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<FloatBuffer> sum_chunk_;  // per thread, kSumChunk floats
  std::unique_ptr<FeatureSplit> split_;  // the first layer split over features, when the model allows
  TrainPosition pos_;
  std::vector<int> order_;      // permutation for the current epoch
  int order_epoch_ = -1;
  std::vector<int> batch_idx_;  // indices of the current batch
  std::vector<int> labels_;     // labels of the current batch
  std::vector<Matrix> x_, probs_, dlogits_;  // per replica; with split_, x_ holds the split layer's output
  std::vector<LossStats> stats_;
};

}  // namespace podlab
