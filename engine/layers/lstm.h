// LSTM (Hochreiter & Schmidhuber 1997, with forget gate; gate order i, f, g, o as in cuDNN/PyTorch).
//   in (batch, T*D) read as T steps of width D (an MNIST image is T=28 rows of D=28 pixels)
//   out (batch, T*U) when return_sequences, else (batch, U) = the last hidden state
//   weights "scope/kernel" (D+U, 4U) acting on [x_t, h_{t-1}]; "scope/bias" (1, 4U), forget-gate
//   bias initialised to 1.
//   i = s(.), f = s(.), g = tanh(.), o = s(.);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
// Backward is full back-propagation through time over the T steps. Stack layers with
// return_sequences on all but the last.
#pragma once

#include "engine/layers/layer.h"

namespace podlab {

class Lstm : public Layer {
 public:
  // `in` is {1, T, D}.
  Lstm(std::string scope, Shape in, int units, bool return_sequences);
  std::string kind() const override { return "LSTM"; }
  Shape output_shape() const override;
  void declare(ParamLayout& layout) override;
  void bind(const float* values, float* grads) override;
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override;
  std::string describe(ModelGraph& graph, const std::string& input) const override;

 private:
  int steps_, width_, units_;
  bool return_sequences_;
  size_t w_offset_ = 0, b_offset_ = 0;
  const float* w_ = nullptr;
  const float* b_ = nullptr;
  float* dw_ = nullptr;
  float* db_ = nullptr;
  // Scratch kept from forward for backward; all (batch, ...) per step, stored step-major.
  Matrix xh_;     // (T*batch, D+U): [x_t, h_{t-1}]
  Matrix gates_;  // (T*batch, 4U): activated gates i, f, g, o
  Matrix cells_;  // ((T+1)*batch, U): c_t, with c_0 = 0 in the first block
  Matrix hidden_; // ((T+1)*batch, U): h_t, with h_0 = 0 in the first block
  // Backward scratch (resized only when the batch changes).
  Matrix dgates_;  // (T*batch, 4U): dL/d(pre-activation gates), all steps, for one dW GEMM
  Matrix dxh_;     // (batch, D+U): dL/d[x_t, h_{t-1}] of the current step
  Matrix dh_, dc_; // (batch, U): dL/dh_t and dL/dc_t carried from step t+1 to t
  Vector dbias_;   // (1, 4U) bias gradient, summed in an aligned buffer (see backward)
};

}  // namespace podlab
