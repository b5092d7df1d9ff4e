// Softmax cross-entropy: subtract the row max before exponentiating, so exp never overflows; the
// log-probability of the label is (z_label - max) - log(sum exp(z - max)).
#include "engine/loss.h"

#include <cmath>

namespace podlab {

void softmax_rows(const Matrix& logits, Matrix& probs) {
  probs.resize(logits.rows(), logits.cols());
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    const float m = logits.row(i).maxCoeff();
    probs.row(i) = (logits.row(i).array() - m).exp().matrix();
    probs.row(i) /= probs.row(i).sum();
  }
}

LossStats softmax_cross_entropy(const Matrix& logits, const int* labels, float scale, Matrix& probs,
                                Matrix* dlogits) {
  LossStats st;
  const Eigen::Index n = logits.rows(), k = logits.cols();
  probs.resize(n, k);
  if (dlogits) dlogits->resize(n, k);
  const float inv = 1.0f / scale;
  for (Eigen::Index i = 0; i < n; ++i) {
    Eigen::Index arg = 0;
    const float m = logits.row(i).maxCoeff(&arg);
    probs.row(i) = (logits.row(i).array() - m).exp().matrix();
    const float sum = probs.row(i).sum();
    const int y = labels[i];
    st.loss_sum += std::log(static_cast<double>(sum)) - (logits(i, y) - m);
    st.correct += (arg == y);
    probs.row(i) *= 1.0f / sum;
    if (dlogits) {
      dlogits->row(i) = probs.row(i) * inv;
      (*dlogits)(i, y) -= inv;
    }
  }
  return st;
}

}  // namespace podlab
