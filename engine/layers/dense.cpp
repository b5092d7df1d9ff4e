// Dense forward and backward.
//   forward:  out = in W + 1 b
//   backward: dW += in^T dout;  db += 1^T dout;  din = dout W^T
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

void Dense::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  ConstMatrixMap w(w_, in_.size(), units_);
  ConstVectorMap b(b_, units_);
  out.resize(in.rows(), units_);
  out.noalias() = in * w;
  out.rowwise() += b;
}

void Dense::backward(const Matrix& in, const Matrix& /*out*/, const Matrix& dout, Matrix* din) {
  MatrixMap dw(dw_, in_.size(), units_);
  VectorMap db(db_, units_);
  dw.noalias() += in.transpose() * dout;
  db += dout.colwise().sum();
  if (din) {
    ConstMatrixMap w(w_, in_.size(), units_);
    din->resize(dout.rows(), in_.size());
    din->noalias() = dout * w.transpose();
  }
}

std::string Dense::describe(ModelGraph& g, const std::string& input) const {
  const std::string w = g.add(scope_ + "/weights", "VariableV2", {}, {in_.size(), units_}, scope_ + "/weights");
  const std::string b = g.add(scope_ + "/biases", "VariableV2", {}, {units_}, scope_ + "/biases");
  const std::string mm = g.add(scope_ + "/MatMul", "MatMul", {input, w}, {-1, units_});
  return g.add(scope_ + "/add", "Add", {mm, b}, {-1, units_});
}

}  // namespace podlab
