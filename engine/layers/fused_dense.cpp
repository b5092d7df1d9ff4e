// FusedDense forward and backward.
//   forward:  z = in W;  out = act(z + 1 b), one pass over each row after the product
//   backward: dpre = dout * act'(out);  then Dense's products on dpre
// Each element sees the same operations in the same order as Dense then ActivationLayer, so ReLU
// results are bit-for-bit the unfused ones (tanh/sigmoid may differ in the last bit where Eigen's
// vectorised and scalar exp/tanh differ).
#include "engine/layers/fused_dense.h"

namespace podlab {

void FusedDense::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  multiply(in, out);
  const auto b = ConstVectorMap(biases(), units_).array();
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    auto z = out.row(i).array();
    switch (act_) {
      case Activation::kRelu: z = (z + b).cwiseMax(0.0f); break;
      case Activation::kSigmoid: z = (1.0f + (-(z + b)).exp()).inverse(); break;
      case Activation::kTanh: z = (z + b).tanh(); break;
    }
  }
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
