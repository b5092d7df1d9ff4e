// Element-wise activations; shape-preserving: (batch, n) -> (batch, n).
//   ReLU:    y = max(x, 0),         dy/dx = [x > 0]   (computed from y: [y > 0])
//   Sigmoid: y = 1 / (1 + e^-x),    dy/dx = y (1 - y)
//   Tanh:    y = tanh(x),           dy/dx = 1 - y^2
#pragma once

#include <memory>

#include "engine/layers/layer.h"

namespace podlab {

enum class Activation { kRelu, kSigmoid, kTanh };

// Parses "relu", "sigmoid", "tanh"; false when unknown.
bool parse_activation(const std::string& name, Activation* out);
const char* activation_name(Activation a);

// dx = dy * act'(x), with the derivative taken from the output y = act(x); all (batch, n). Shared by
// ActivationLayer and FusedDense.
void activation_backward(Activation a, const Matrix& y, const Matrix& dy, Matrix& dx);
// The same into rows of a larger matrix (dx already of y's shape).
void activation_backward_into(Activation a, const Matrix& y, const Matrix& dy, Eigen::Ref<Matrix> dx);
// y = act(y) in place, as the layers compute it.
void activation_forward(Activation a, Matrix& y);

class ActivationLayer : public Layer {
 public:
  ActivationLayer(std::string scope, Shape in, Activation a) : Layer(std::move(scope), in), act_(a) {}
  std::string kind() const override;
  Shape output_shape() const override { return in_; }
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override { return in_.size(); }

 private:
  Activation act_;
};

}  // namespace podlab
