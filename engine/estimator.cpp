// DNNClassifier: checks its inputs, turns hidden units and options into a TrainConfig, and runs a
// Trainer for the requested number of steps.
#include "engine/estimator.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

namespace podlab {

DNNClassifier::DNNClassifier(std::vector<int> hidden_units, int n_classes, DNNOptions options)
    : hidden_(std::move(hidden_units)), classes_(n_classes), options_(std::move(options)) {}

DNNClassifier::~DNNClassifier() = default;

Status DNNClassifier::fit(const Split& train) {
  trainer_.reset();
  last_ = StepResult{};
  if (train.count <= 0 || train.features() <= 0)
    return Status::Data("DNNClassifier::fit: the training split is empty");
  if (train.pixels.size() != static_cast<size_t>(train.count) * train.features() ||
      train.labels.size() != static_cast<size_t>(train.count))
    return Status::Data("DNNClassifier::fit: the split holds " + std::to_string(train.pixels.size()) +
                        " pixels and " + std::to_string(train.labels.size()) + " labels for " +
                        std::to_string(train.count) + " samples of " + std::to_string(train.features()) +
                        " features");
  if (classes_ < 2)
    return Status::Config("DNNClassifier: n_classes must be at least 2 (got " + std::to_string(classes_) + ")");
  for (int units : hidden_)
    if (units < 1 || units > 65536)
      return Status::Config("DNNClassifier: hidden units must be in 1..65536 (got " + std::to_string(units) + ")");
  if (options_.steps < 0 || (options_.steps == 0 && options_.epochs < 1))
    return Status::Usage("DNNClassifier: set steps > 0, or steps = 0 and epochs >= 1 (got steps " +
                         std::to_string(options_.steps) + ", epochs " + std::to_string(options_.epochs) + ")");
  for (int i = 0; i < train.count; ++i)
    if (train.labels[i] >= classes_)
      return Status::Data("DNNClassifier::fit: sample " + std::to_string(i) + " has label " +
                          std::to_string(train.labels[i]) + ", outside 0.." + std::to_string(classes_ - 1) +
                          " (is n_classes right?)");

  TrainConfig config;
  config.model.kind = hidden_.empty() ? ModelSpec::Kind::kSoftmax : ModelSpec::Kind::kMlp;
  config.model.hidden = hidden_;
  config.model.activation = options_.activation;
  config.optimizer.name = options_.optimizer;
  config.optimizer.lr = options_.learning_rate;
  config.batch = options_.batch;
  config.threads = options_.threads;
  config.seed = options_.seed;
  auto trainer = Trainer::create(config, Shape{train.rows, train.cols, 1}, classes_);
  if (!trainer.ok()) return trainer.status().With("DNNClassifier");

  Trainer& t = **trainer;
  const int64_t steps = options_.steps > 0 ? options_.steps
                                           : static_cast<int64_t>(options_.epochs) * t.batches_per_epoch(train);
  for (int64_t s = 0; s < steps; ++s) {
    last_ = t.step(train);
    // A non-finite loss never recovers: stop and say why rather than predict from NaN weights.
    if (!std::isfinite(last_.loss))
      return Status::Config("DNNClassifier::fit: training diverged at step " + std::to_string(s) + " (loss " +
                            std::to_string(last_.loss) + "): lower the learning rate");
  }
  trainer_ = std::move(*trainer);
  features_ = train.features();
  return Status::Ok();
}

std::vector<int> DNNClassifier::predict(const Matrix& x) {
  assert(fitted() && x.cols() == features_ && "predict needs a fitted classifier, rows of the training width");
  if (!fitted() || x.cols() != features_) return {};
  // In chunks, so that the network's scratch stays small however many rows come in.
  constexpr Eigen::Index kChunk = 1000;
  std::vector<int> labels(static_cast<size_t>(x.rows()));
  Matrix chunk, probs;
  for (Eigen::Index start = 0; start < x.rows(); start += kChunk) {
    const Eigen::Index n = std::min(kChunk, x.rows() - start);
    chunk = x.middleRows(start, n);
    trainer_->predict(chunk, probs);
    for (Eigen::Index i = 0; i < n; ++i) {
      Eigen::Index best = 0;
      probs.row(i).maxCoeff(&best);
      labels[static_cast<size_t>(start + i)] = static_cast<int>(best);
    }
  }
  return labels;
}

double DNNClassifier::score(const Split& test) {
  if (test.count == 0) return 0.0;
  assert(fitted() && test.features() == features_ && "score needs a fitted classifier, splits of the training width");
  if (!fitted() || test.features() != features_) return 0.0;
  return trainer_->evaluate(test).accuracy;
}

}  // namespace podlab
