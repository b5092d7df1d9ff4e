// Gradients on an explicit list of samples, for cluster workers. Trainer::compute_gradients walks
// its own data order; a worker in sync mode needs "slice i of global batch s" instead, so this class
// does the same computation on indices it is given: the same replicas, slicing, dropout seeds and
// summation order as Trainer, so with one worker it produces Trainer's gradient bit for bit
// (tests/cluster/sync_test.cpp checks that). Also the data orders workers use.
#pragma once

#include <memory>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/network.h"
#include "engine/parallel.h"
#include "engine/trainer.h"

namespace podlab {

// The permutation of [0, count) that Trainer visits in `epoch` for `seed` (a copy of Trainer's
// Fisher-Yates draw; tests compare the two).
std::vector<int> epoch_order(uint64_t seed, int epoch, int count);

class BatchGradient {
 public:
  // config.threads replicas of config.model; config.seed seeds dropout (derive_seed(seed, step, r)).
  static Result<std::unique_ptr<BatchGradient>> create(const TrainConfig& config, Shape input, int classes);

  const ParamLayout& layout() const { return replicas_[0]->layout(); }
  // The values the gradient is taken at (layout().total() floats); the caller fills it.
  FloatBuffer& values() { return values_; }

  // Mean-loss gradient over samples idx[0..n) of `train` (n >= 1) into `grads` (resized to
  // layout().total()); `step` seeds dropout as Trainer's step counter does.
  StepResult compute(const Split& train, const int* idx, int n, int64_t step, FloatBuffer& grads);

 private:
  BatchGradient() = default;
  TrainConfig config_;
  FloatBuffer values_;
  std::vector<FloatBuffer> grads_;  // per replica
  std::vector<std::unique_ptr<Network>> replicas_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<Matrix> x_, probs_, dlogits_;  // per replica
  std::vector<int> labels_;
  std::vector<LossStats> stats_;
};

}  // namespace podlab
