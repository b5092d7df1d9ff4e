// Activation forward/backward; derivatives are taken from the output, so no input copy is kept.
#include "engine/layers/activation.h"

namespace podlab {

bool parse_activation(const std::string& name, Activation* out) {
  if (name == "relu") *out = Activation::kRelu;
  else if (name == "sigmoid") *out = Activation::kSigmoid;
  else if (name == "tanh") *out = Activation::kTanh;
  else return false;
  return true;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kRelu: return "Relu";
    case Activation::kSigmoid: return "Sigmoid";
    case Activation::kTanh: return "Tanh";
  }
  return "?";
}

std::string ActivationLayer::kind() const { return activation_name(act_); }

void ActivationLayer::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  out.resize(in.rows(), in.cols());
  switch (act_) {
    case Activation::kRelu: out = in.cwiseMax(0.0f); break;
    case Activation::kSigmoid: out = (1.0f + (-in.array()).exp()).inverse().matrix(); break;
    case Activation::kTanh: out = in.array().tanh().matrix(); break;
  }
}

void activation_backward(Activation a, const Matrix& y, const Matrix& dy, Matrix& dx) {
  dx.resize(dy.rows(), dy.cols());
  activation_backward_into(a, y, dy, dx);
}

void activation_backward_into(Activation a, const Matrix& y, const Matrix& dy, Eigen::Ref<Matrix> dx) {
  switch (a) {
    case Activation::kRelu: dx.array() = (y.array() > 0.0f).select(dy.array(), 0.0f); break;
    case Activation::kSigmoid: dx.array() = dy.array() * y.array() * (1.0f - y.array()); break;
    case Activation::kTanh: dx.array() = dy.array() * (1.0f - y.array().square()); break;
  }
}

void activation_forward(Activation a, Matrix& y) {
  switch (a) {
    case Activation::kRelu: y = y.cwiseMax(0.0f); break;
    case Activation::kSigmoid: y.array() = (1.0f + (-y.array()).exp()).inverse(); break;
    case Activation::kTanh: y.array() = y.array().tanh(); break;
  }
}

void ActivationLayer::backward(const Matrix& /*in*/, const Matrix& out, const Matrix& dout, Matrix* din) {
  if (din) activation_backward(act_, out, dout, *din);
}

}  // namespace podlab
