// Trainer: data-parallel steps over replicas that share the parameter buffer.
#include "engine/trainer.h"

#include <algorithm>
#include <numeric>

namespace podlab {

Result<std::unique_ptr<Trainer>> Trainer::create(const TrainConfig& config, Shape input, int classes) {
  if (config.batch < 1 || config.batch > 65536)
    return Status::Usage("batch size must be in 1..65536 (got " + std::to_string(config.batch) + ")");
  if (config.threads < 1 || config.threads > 256)
    return Status::Usage("threads must be in 1..256 (got " + std::to_string(config.threads) + ")");
  if (config.threads > config.batch)
    return Status::Usage("threads (" + std::to_string(config.threads) + ") cannot exceed the batch size (" +
                         std::to_string(config.batch) + ")");
  std::unique_ptr<Trainer> t(new Trainer());
  t->config_ = config;
  t->classes_ = classes;
  for (int r = 0; r < config.threads; ++r) {
    auto net = Network::build(config.model, input, classes);
    if (!net.ok()) return net.status();
    t->replicas_.push_back(std::move(*net));
  }
  const size_t n = t->layout().total();
  t->values_.assign(n, 0.0f);
  t->layout().initialise(t->values_.data(), config.seed);
  t->grads_.assign(config.threads, FloatBuffer(n, 0.0f));
  for (int r = 0; r < config.threads; ++r) t->replicas_[r]->bind(t->values_.data(), t->grads_[r].data());
  auto opt = make_optimizer(config.optimizer, n);
  if (!opt.ok()) return opt.status();
  t->optimizer_ = std::move(*opt);
  t->pool_ = std::make_unique<ThreadPool>(config.threads);
  t->split_ = FeatureSplit::create(*t->replicas_[0], config.threads);
  t->sum_chunk_.assign(config.threads, FloatBuffer(kSumChunk, 0.0f));
  t->x_.resize(config.threads);
  t->probs_.resize(config.threads);
  t->dlogits_.resize(config.threads);
  t->stats_.resize(config.threads);
  return t;
}

int Trainer::batches_per_epoch(const Split& train) const {
  return (train.count + config_.batch - 1) / config_.batch;
}

void epoch_order(uint64_t seed, int epoch, int count, std::vector<int>& order) {
  order.resize(count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(seed, 0x5EED0F0E, static_cast<uint64_t>(epoch)));
  for (int i = count - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint32_t>(i + 1))]);
}

void Trainer::next_batch_indices(const Split& train, int* n) {
  if (order_epoch_ != pos_.epoch || static_cast<int>(order_.size()) != train.count) {
    epoch_order(config_.seed, pos_.epoch, train.count, order_);
    order_epoch_ = pos_.epoch;
  }
  const int start = pos_.batch_in_epoch * config_.batch;
  *n = std::min(config_.batch, train.count - start);
  batch_idx_.assign(order_.begin() + start, order_.begin() + start + *n);
  if (++pos_.batch_in_epoch >= batches_per_epoch(train)) {
    pos_.batch_in_epoch = 0;
    ++pos_.epoch;
  }
}

StepResult Trainer::gradients_in_place(const Split& train) {
  int n = 0;
  const int64_t step = pos_.step;
  next_batch_indices(train, &n);
  return gradients_on(train, batch_idx_.data(), n, step);
}

StepResult Trainer::gradients_on(const Split& train, const int* idx, int n, int64_t step) {
  return run_step(train, idx, n, step, /*update=*/false);
}

StepResult Trainer::run_step(const Split& train, const int* idx, int n, int64_t step, bool update) {
  labels_.resize(n);
  const int parts = std::min(config_.threads, n);
  const bool split = split_ && parts == config_.threads;
  // Loss on batch rows from lo, then backward (overwriting, so grads_[r] need not be zeroed first);
  // with the split, through the layers above it, returning dL/d(its output).
  const auto loss_and_backward = [&](int r, const Matrix& logits, int lo) -> const Matrix* {
    stats_[r] = softmax_cross_entropy(logits, labels_.data() + lo, static_cast<float>(n), probs_[r], &dlogits_[r]);
    if (!split) {
      replicas_[r]->backward(dlogits_[r], /*overwrite=*/true);
      return nullptr;
    }
    return &replicas_[r]->backward_above(split_->layer_index(), dlogits_[r], /*overwrite=*/true);
  };
  const auto forward_backward = [&](int r) {
    const int lo = n * r / parts, hi = n * (r + 1) / parts;
    Network& net = *replicas_[r];
    net.set_step_seed(derive_seed(config_.seed, static_cast<uint64_t>(step), static_cast<uint64_t>(r)));
    if (!split) {
      train.gather(idx + lo, hi - lo, x_[r], labels_.data() + lo);
      loss_and_backward(r, net.forward(x_[r], true), lo);
      return;
    }
    split_->forward_partial(r, train, idx, n, values_.data());
    for (int i = lo; i < hi; ++i) labels_[i] = train.labels[idx[i]];
    pool_->barrier();  // all partial products are in
    split_->combine(lo, hi, values_.data(), x_[r]);
    const Matrix& logits = net.forward_above(split_->layer_index(), x_[r], true);
    split_->backward_rows(lo, x_[r], *loss_and_backward(r, logits, lo));
    pool_->barrier();  // all rows of dL/d(pre-activation) are in
    split_->weight_gradient(r, grads_[0].data());
  };
  if (parts == 1) {
    forward_backward(0);
    if (update) optimizer_->step(values_.data(), grads_[0].data());
  } else {
    // One hand-over per step: forward/backward, a barrier, then each thread sums the replica
    // gradients over its own slice of the buffer, in replica order, and (with `update`) applies the
    // optimiser to that slice while the sum is still in cache. With the feature split, the split
    // layer's variables [0, variables_end()) are not replicated: each thread has computed its own
    // part of their gradient into grads_[0] and updates just that part.
    pool_->run(parts, [&](int r) {
      forward_backward(r);
      size_t first = 0;
      if (split) {
        first = split_->variables_end();
        size_t at[2], count[2];
        split_->owned_ranges(r, at, count);
        for (int k = 0; k < 2 && update; ++k)
          optimizer_->update_range(values_.data() + at[k], grads_[0].data() + at[k], at[k], count[k]);
      } else {
        pool_->barrier();
      }
      const size_t total = values_.size(), span = total - first;
      const auto cut = [&](int k) {
        return k == parts ? total : first + span * k / parts / Optimizer::kRangeAlign * Optimizer::kRangeAlign;
      };
      const size_t lo = cut(r), hi = cut(r + 1);
      if (update) sum_and_update(parts, lo, hi, sum_chunk_[r].data());
      else sum_into_first(parts, lo, hi);
    });
    if (update) optimizer_->finish_step();
  }

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

void Trainer::sum_into_first(int parts, size_t lo, size_t hi) {
  float* sum = grads_[0].data();
  for (int k = 1; k < parts; ++k) {
    const float* g = grads_[k].data();
    for (size_t i = lo; i < hi; ++i) sum[i] += g[i];
  }
}

void Trainer::sum_and_update(int parts, size_t lo, size_t hi, float* chunk) {
  for (size_t c = lo; c < hi; c += kSumChunk) {
    const size_t m = std::min(kSumChunk, hi - c);
    std::copy(grads_[0].data() + c, grads_[0].data() + c + m, chunk);
    for (int k = 1; k < parts; ++k) {
      const float* g = grads_[k].data() + c;
      for (size_t i = 0; i < m; ++i) chunk[i] += g[i];
    }
    optimizer_->update_range(values_.data() + c, chunk, c, m);
  }
}

StepResult Trainer::compute_gradients(const Split& train, FloatBuffer& grads) {
  const StepResult res = gradients_in_place(train);
  grads.assign(grads_[0].begin(), grads_[0].end());
  return res;
}

StepResult Trainer::step(const Split& train) {
  int n = 0;
  const int64_t step = pos_.step;
  next_batch_indices(train, &n);
  StepResult res = run_step(train, batch_idx_.data(), n, step, /*update=*/true);
  ++pos_.step;
  return res;
}

EvalResult Trainer::evaluate(const Split& split, int limit, const std::function<void()>& after_chunk) {
  EvalResult res;
  const int count = limit > 0 ? std::min(limit, split.count) : split.count;
  res.confusion.assign(static_cast<size_t>(classes_) * classes_, 0);
  res.predicted.assign(count, 0);
  constexpr int kChunk = kEvalChunk;
  const int parts = config_.threads;
  std::vector<double> loss(parts, 0.0);
  std::vector<std::vector<int64_t>> confusion(parts, std::vector<int64_t>(res.confusion.size(), 0));
  std::vector<std::vector<int>> idx(parts), labels(parts);
  pool_->run(parts, [&](int r) {
    Network& net = *replicas_[r];
    for (int start = r * kChunk; start < count; start += parts * kChunk) {
      const int n = std::min(kChunk, count - start);
      idx[r].resize(n);
      labels[r].resize(n);
      std::iota(idx[r].begin(), idx[r].end(), start);
      split.gather(idx[r].data(), n, x_[r], labels[r].data());
      const Matrix& logits = net.forward(x_[r], false);
      const LossStats st = softmax_cross_entropy(logits, labels[r].data(), 1.0f, probs_[r], nullptr);
      loss[r] += st.loss_sum;
      for (int i = 0; i < n; ++i) {
        Eigen::Index pred = 0;
        probs_[r].row(i).maxCoeff(&pred);
        res.predicted[start + i] = static_cast<uint8_t>(pred);  // replicas write disjoint chunks
        ++confusion[r][static_cast<size_t>(labels[r][i]) * classes_ + pred];
      }
      if (r == 0 && after_chunk) after_chunk();  // part 0 runs on the calling thread
    }
  });
  int64_t correct = 0;
  for (int r = 0; r < parts; ++r) {
    res.loss += loss[r];
    for (size_t k = 0; k < res.confusion.size(); ++k) res.confusion[k] += confusion[r][k];
  }
  for (int c = 0; c < classes_; ++c) correct += res.confusion[static_cast<size_t>(c) * classes_ + c];
  res.samples = count;
  res.loss /= std::max(1, count);
  res.accuracy = static_cast<double>(correct) / std::max(1, count);
  return res;
}

void Trainer::predict(const Matrix& x, Matrix& probs) {
  softmax_rows(replicas_[0]->forward(x, false), probs);
}

}  // namespace podlab
