// Mirrors Trainer::compute_gradients (engine/trainer.cpp) step for step; keep the two in sync.
#include "cluster/batch_gradient.h"

#include <algorithm>
#include <numeric>

#include "engine/loss.h"

namespace podlab {

std::vector<int> epoch_order(uint64_t seed, int epoch, int count) {
  std::vector<int> order(count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(seed, 0x5EED0F0E, static_cast<uint64_t>(epoch)));
  for (int i = count - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint32_t>(i + 1))]);
  return order;
}

Result<std::unique_ptr<BatchGradient>> BatchGradient::create(const TrainConfig& config, Shape input, int classes) {
  if (config.threads < 1 || config.threads > 256) return Status::Usage("threads must be in 1..256");
  std::unique_ptr<BatchGradient> g(new BatchGradient());
  g->config_ = config;
  for (int r = 0; r < config.threads; ++r) {
    auto net = Network::build(config.model, input, classes);
    if (!net.ok()) return net.status();
    g->replicas_.push_back(std::move(*net));
  }
  const size_t n = g->layout().total();
  g->values_.assign(n, 0.0f);
  g->grads_.assign(config.threads, FloatBuffer(n, 0.0f));
  for (int r = 0; r < config.threads; ++r) g->replicas_[r]->bind(g->values_.data(), g->grads_[r].data());
  g->pool_ = std::make_unique<ThreadPool>(config.threads);
  g->x_.resize(config.threads);
  g->probs_.resize(config.threads);
  g->dlogits_.resize(config.threads);
  g->stats_.resize(config.threads);
  return g;
}

StepResult BatchGradient::compute(const Split& train, const int* idx, int n, int64_t step, FloatBuffer& grads) {
  labels_.resize(n);
  const int parts = std::min(config_.threads, n);
  pool_->run(parts, [&](int r) {
    const int lo = n * r / parts, hi = n * (r + 1) / parts;
    std::fill(grads_[r].begin(), grads_[r].end(), 0.0f);
    Network& net = *replicas_[r];
    train.gather(idx + lo, hi - lo, x_[r], labels_.data() + lo);
    net.set_step_seed(derive_seed(config_.seed, static_cast<uint64_t>(step), static_cast<uint64_t>(r)));
    const Matrix& logits = net.forward(x_[r], true);
    stats_[r] = softmax_cross_entropy(logits, labels_.data() + lo, static_cast<float>(n), probs_[r], &dlogits_[r]);
    net.backward(dlogits_[r]);
  });

  // Sum the replicas' gradients into replica 0's buffer in replica order (as Trainer does), each
  // thread owning a slice of the flat buffer; then one copy out.
  const size_t total = values_.size();
  if (parts > 1) {
    pool_->run(parts, [&](int r) {
      const size_t lo = total * r / parts, hi = total * (r + 1) / parts;
      float* sum = grads_[0].data();
      for (int k = 1; k < parts; ++k) {
        const float* g = grads_[k].data();
        for (size_t i = lo; i < hi; ++i) sum[i] += g[i];
      }
    });
  }
  grads.assign(grads_[0].begin(), grads_[0].end());

  StepResult res;
  res.samples = n;
  double loss = 0;
  int correct = 0;
  for (int r = 0; r < parts; ++r) {
    loss += stats_[r].loss_sum;
    correct += stats_[r].correct;
  }
  res.loss = loss / n;
  res.accuracy = static_cast<double>(correct) / n;
  return res;
}

}  // namespace podlab
