// A high-level estimator, as in the 2016 talk's skflow code:
//
//   classifier = learn.TensorFlowDNNClassifier(hidden_units=[200, 200], n_classes=10)
//   classifier.fit(X_train, y_train)
//   score = metrics.accuracy_score(y_test, classifier.predict(X_test))
//
// becomes
//
//   DNNClassifier clf({200, 200}, 10);
//   Status st = clf.fit(data.train);
//   double accuracy = clf.score(data.test);
//
// It is a thin layer over Trainer with the "mlp" ModelSpec (dense layers with the hidden units, each
// followed by the activation, then a dense output layer with softmax cross-entropy). Training is
// deterministic for a given seed and thread count, as Trainer's is. Not thread-safe; fit() uses up to
// `threads` threads of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/layers/activation.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/trainer.h"

namespace podlab {

struct DNNOptions {
  int steps = 0;                  // optimiser steps to take; 0 = `epochs` passes over the data
  int epochs = 1;                 // used when steps == 0
  int batch = 32;                 // skflow's default batch_size
  float learning_rate = 0.1f;
  std::string optimizer = "sgd";  // sgd | momentum | adam
  Activation activation = Activation::kRelu;
  uint64_t seed = 1;              // initial weights and data order
  int threads = 1;                // data-parallel replicas, 1..batch
};

class DNNClassifier {
 public:
  // hidden_units: the widths of the hidden layers (may be empty: softmax regression).
  DNNClassifier(std::vector<int> hidden_units, int n_classes, DNNOptions options = {});
  ~DNNClassifier();

  // Trains a fresh model on `train` (every call starts again from the seed, as scikit-learn's fit
  // does). Errors: an empty split, labels outside 0..n_classes-1, hidden units < 1, n_classes < 2,
  // bad options (steps/epochs, batch, threads, learning rate, optimizer name). On error the classifier
  // is left unfitted.
  Status fit(const Split& train);
  bool fitted() const { return trainer_ != nullptr; }

  // The most likely class of each row of x (n, features), pixels as floats in [0, 1]; n labels.
  // Preconditions (bugs otherwise): fitted() and x.cols() equals the training images' features. In a
  // release build a violation returns an empty vector.
  std::vector<int> predict(const Matrix& x);
  // The fraction of `test` classified correctly (0 for an empty split). Same preconditions as
  // predict(); a violation returns 0.
  double score(const Split& test);

  // Mean loss and accuracy of the last training batch (zeros before fit()).
  const StepResult& last_step() const { return last_; }
  // The underlying trainer (null before a successful fit), for checkpoints, graphs and curves.
  Trainer* trainer() { return trainer_.get(); }
  const DNNOptions& options() const { return options_; }

 private:
  std::vector<int> hidden_;
  int classes_;
  DNNOptions options_;
  int features_ = 0;
  std::unique_ptr<Trainer> trainer_;
  StepResult last_;
};

}  // namespace podlab
