// BatchGradient: a Trainer used only for its gradients.
#include "cluster/batch_gradient.h"

namespace podlab {

std::vector<int> epoch_order(uint64_t seed, int epoch, int count) {
  std::vector<int> order;
  epoch_order(seed, epoch, count, order);
  return order;
}

Result<std::unique_ptr<BatchGradient>> BatchGradient::create(const TrainConfig& config, Shape input, int classes) {
  auto trainer = Trainer::create(config, input, classes);
  if (!trainer.ok()) return trainer.status();
  std::unique_ptr<BatchGradient> g(new BatchGradient());
  g->trainer_ = std::move(*trainer);
  return g;
}

StepResult BatchGradient::compute(const Split& train, const int* idx, int n, int64_t step, FloatBuffer& grads) {
  const StepResult res = trainer_->gradients_on(train, idx, n, step);
  const FloatBuffer& sum = trainer_->summed_gradient();
  grads.assign(sum.begin(), sum.end());
  return res;
}

}  // namespace podlab
