// Dense forward and backward.
//   forward:  out = in W + 1 b
//   backward: dW += in^T dout;  db += 1^T dout;  din = dout W^T  (= for dW and db when overwriting)
// The products go through Gemm, so a step with a stable batch size allocates nothing.
#include "engine/layers/dense.h"

namespace podlab {

Dense::Dense(std::string scope, Shape in, int units, Init init)
    : Layer(std::move(scope), in), units_(units), init_(init) {}

void Dense::declare(ParamLayout& layout) {
  const int n_in = in_.size();
  w_offset_ = layout[layout.add(scope_ + "/weights", n_in, units_, init_, n_in, units_)].offset;
  b_offset_ = layout[layout.add(scope_ + "/biases", 1, units_, Init::kZeros)].offset;
}

void Dense::bind(const float* values, float* grads) {
  w_ = values + w_offset_;
  b_ = values + b_offset_;
  dw_ = grads ? grads + w_offset_ : nullptr;
  db_ = grads ? grads + b_offset_ : nullptr;
}

void Dense::affine(const Matrix& in, Matrix& out, bool relu) {
  const int batch = static_cast<int>(in.rows());
  out.resize(batch, units_);
  gemm_.ab(in.data(), w_, out.data(), batch, units_, in_.size(), b_, relu);
}

void Dense::forward(const Matrix& in, Matrix& out, bool /*training*/) { affine(in, out, /*relu=*/false); }

void Dense::backward_linear(const Matrix& in, const Matrix& d, Matrix* din) {
  const int batch = static_cast<int>(d.rows()), n_in = in_.size();
  // Bias gradients go row by row, so each is the same sum whatever the buffer's alignment (Eigen's
  // colwise().sum() peels unaligned columns into a differently ordered scalar sum).
  VectorMap db(db_, units_);
  Eigen::Index first = 0;
  if (overwrite_grads_) {
    gemm_.atb(in.data(), d.data(), dw_, n_in, units_, batch);
    if (batch > 0) db = d.row(first++);
    else db.setZero();
  } else {
    gemm_.atb_add(in.data(), d.data(), dw_, n_in, units_, batch);
  }
  for (Eigen::Index i = first; i < d.rows(); ++i) db += d.row(i);
  if (din) {
    din->resize(batch, n_in);
    gemm_.abt(d.data(), w_, din->data(), batch, n_in, units_);
  }
}

void Dense::backward(const Matrix& in, const Matrix& /*out*/, const Matrix& dout, Matrix* din) {
  backward_linear(in, dout, din);
}

std::string Dense::describe(ModelGraph& g, const std::string& input) const {
  const std::string w = g.add(scope_ + "/weights", "VariableV2", {}, {in_.size(), units_}, scope_ + "/weights");
  const std::string b = g.add(scope_ + "/biases", "VariableV2", {}, {units_}, scope_ + "/biases");
  const std::string mm = g.add(scope_ + "/MatMul", "MatMul", {input, w}, {-1, units_});
  return g.add(scope_ + "/add", "Add", {mm, b}, {-1, units_});
}

}  // namespace podlab
