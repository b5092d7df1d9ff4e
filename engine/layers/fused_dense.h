// FusedDense: Dense followed by an element-wise activation, as one layer.
//   in (batch, n_in) -> out = act(in W + b) (batch, n_out); variables as Dense ("scope/weights",
//   "scope/biases"), so a model with fused layers has the same layout and checkpoints as one without.
//
// Same result as Dense then ActivationLayer, in fewer passes over the batch: bias and ReLU are
// applied while the product's tiles are in registers (tanh and sigmoid in one pass after it), no
// intermediate (batch, n_out) matrix is kept, and backward turns dL/dout into dL/d(pre-activation) in
// one pass before the products. It describes itself as the two layers would (MatMul, add, then
// Relu/Tanh/Sigmoid under the same scope).
#pragma once

#include "engine/layers/activation.h"
#include "engine/layers/dense.h"

namespace podlab {

class FusedDense : public Dense {
 public:
  FusedDense(std::string scope, Shape in, int units, Activation act, Init init = Init::kGlorotUniform)
      : Dense(std::move(scope), in, units, init), act_(act) {}
  std::string kind() const override { return std::string("Dense") + activation_name(act_); }
  Activation activation() const { return act_; }
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override { return Dense::forward_flops() + units_; }
  std::string describe(ModelGraph& graph, const std::string& input) const override;

 private:
  Activation act_;
  Matrix dpre_;  // (batch, n_out): dL/d(in W + b) of the last backward
};

}  // namespace podlab
