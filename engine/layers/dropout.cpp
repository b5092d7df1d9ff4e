// Dropout forward and backward (inverted dropout, Srivastava et al. 2014).
//   training:  mask[i] = 0 with probability rate, else 1/(1-rate);  out = in .* mask;  din = dout .* mask
//   inference: out = in;  din = dout
// The mask is drawn from Rng(seed_), one uniform per element in row order (sample 0's features, then
// sample 1's, ...), so a step seed fixes the mask on every platform.
#include "engine/layers/dropout.h"

#include <cassert>

#include "engine/rng.h"

namespace podlab {

Dropout::Dropout(std::string scope, Shape in, float rate) : Layer(std::move(scope), in), rate_(rate) {
  assert(rate >= 0.0f && rate < 1.0f && "dropout rate must be in [0, 1)");
}

void Dropout::forward(const Matrix& in, Matrix& out, bool training) {
  assert(in.cols() == in_.size());
  last_training_ = training && rate_ > 0.0f;
  if (!last_training_) {
    out = in;  // same size as last time: a copy, no allocation
    return;
  }
  const float keep_scale = 1.0f / (1.0f - rate_);
  mask_.resize(in.rows(), in.cols());
  Rng rng(seed_);
  float* m = mask_.data();  // row-major: data order is row order
  for (Eigen::Index i = 0, n = mask_.size(); i < n; ++i) m[i] = rng.uniform() < rate_ ? 0.0f : keep_scale;
  out.resize(in.rows(), in.cols());
  out.array() = in.array() * mask_.array();
}

void Dropout::backward(const Matrix& /*in*/, const Matrix& /*out*/, const Matrix& dout, Matrix* din) {
  if (!din) return;
  if (!last_training_) {
    *din = dout;
    return;
  }
  assert(mask_.rows() == dout.rows() && mask_.cols() == dout.cols());
  din->resize(dout.rows(), dout.cols());
  din->array() = dout.array() * mask_.array();
}

}  // namespace podlab
