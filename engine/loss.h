// Softmax cross-entropy, fused and numerically stable.
//   logits (batch, classes), labels (batch) in [0, classes)
//   loss = -(1/scale) sum_i log softmax(logits_i)[label_i]
//   dlogits = (softmax(logits) - onehot(labels)) / scale
// `scale` is normally the batch size; data-parallel replicas pass the whole batch's size so the
// summed gradients equal the single-thread ones.
#pragma once

#include "engine/tensor.h"

namespace podlab {

struct LossStats {
  double loss_sum = 0;  // sum over samples of -log p(label)
  int correct = 0;      // argmax == label
};

// Writes probabilities into `probs` (may alias nothing else) and, if `dlogits` is non-null, the
// gradient. Returns per-batch sums (not means).
LossStats softmax_cross_entropy(const Matrix& logits, const int* labels, float scale, Matrix& probs,
                                Matrix* dlogits);

// Row-wise softmax only (inference).
void softmax_rows(const Matrix& logits, Matrix& probs);

}  // namespace podlab
