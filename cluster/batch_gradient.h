// Gradients on an explicit list of samples, for cluster workers. Trainer::compute_gradients walks
// its own data order; a worker in sync mode needs "slice i of global batch s" instead. This wraps a
// Trainer and calls Trainer::gradients_on, so with one worker it produces Trainer's gradient bit for
// bit (tests/cluster/sync_test.cpp checks that). Also the data orders workers use.
#pragma once

#include <memory>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/trainer.h"

namespace podlab {

// The permutation of [0, count) that Trainer visits in `epoch` for `seed`.
std::vector<int> epoch_order(uint64_t seed, int epoch, int count);

class BatchGradient {
 public:
  // config.threads replicas of config.model; config.seed seeds dropout (derive_seed(seed, step, r)).
  static Result<std::unique_ptr<BatchGradient>> create(const TrainConfig& config, Shape input, int classes);

  const ParamLayout& layout() const { return trainer_->layout(); }
  // The values the gradient is taken at (layout().total() floats); the caller fills it.
  FloatBuffer& values() { return trainer_->parameters(); }

  // Mean-loss gradient over samples idx[0..n) of `train` (n >= 1) into `grads` (resized to
  // layout().total()); `step` seeds dropout as Trainer's step counter does.
  StepResult compute(const Split& train, const int* idx, int n, int64_t step, FloatBuffer& grads);
  // The same, leaving the gradient in gradient() (no copy); it stays there until the next compute.
  StepResult compute_in_place(const Split& train, const int* idx, int n, int64_t step) {
    return trainer_->gradients_on(train, idx, n, step);
  }
  const FloatBuffer& gradient() const { return trainer_->summed_gradient(); }

 private:
  BatchGradient() = default;
  std::unique_ptr<Trainer> trainer_;  // its optimiser is never stepped: the ps tasks own the updates
};

}  // namespace podlab
