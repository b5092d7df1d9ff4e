// FusedDense forward and backward.
//   forward:  out = act(in W + 1 b): ReLU inside the product's last pass (Gemm), tanh and sigmoid in
//             one pass over the product
//   backward: dpre = dout * act'(out);  then Dense's products on dpre
// Each element sees the same operations in the same order as Dense then ActivationLayer, so the
// results are bit-for-bit the unfused ones.
#include "engine/layers/fused_dense.h"

namespace podlab {

void FusedDense::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  affine(in, out, act_ == Activation::kRelu);
  if (act_ != Activation::kRelu) activation_forward(act_, out);  // ReLU is in the product's last pass
}

void FusedDense::backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) {
  activation_backward(act_, out, dout, dpre_);
  backward_linear(in, dpre_, din);
}

std::string FusedDense::describe(ModelGraph& g, const std::string& input) const {
  const std::string name = activation_name(act_);
  return g.add(scope_ + "/" + name, name, {Dense::describe(g, input)}, batch_shape(output_shape()));
}

}  // namespace podlab
