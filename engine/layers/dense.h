// Dense (fully connected): out = in * W + b.
//   in (batch, n_in) -> out (batch, n_out); W (n_in, n_out) "scope/weights"; b (1, n_out) "scope/biases".
// FusedDense (fused_dense.h) is this layer with its activation applied in the same pass.
#pragma once

#include "engine/layers/gemm.h"
#include "engine/layers/layer.h"

namespace podlab {

class Dense : public Layer {
 public:
  // `init` is kHeNormal before a ReLU and kGlorotUniform otherwise.
  Dense(std::string scope, Shape in, int units, Init init = Init::kGlorotUniform);
  std::string kind() const override { return "Dense"; }
  Shape output_shape() const override { return Shape{1, 1, units_}; }
  void declare(ParamLayout& layout) override;
  void bind(const float* values, float* grads) override;
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override { return 2ll * in_.size() * units_; }
  std::string describe(ModelGraph& graph, const std::string& input) const override;

  // When on, backward() writes dW and db instead of adding to them (the Layer contract's default),
  // so the caller need not zero the gradient buffer first. Network::backward sets it.
  void set_overwrite_gradients(bool on) { overwrite_grads_ = on; }
  // Where W (n_in, n_out) and b (n_out) sit in the flat buffers, in floats.
  size_t weights_offset() const { return w_offset_; }
  size_t biases_offset() const { return b_offset_; }
  int inputs() const { return in_.size(); }
  int units() const { return units_; }

 protected:
  // out (batch, n_out) = in W + 1 b, then max(., 0) when `relu`, in one pass.
  void affine(const Matrix& in, Matrix& out, bool relu);
  // From d = dL/d(in W + b) (batch, n_out): dW += in^T d, db += 1^T d, and din = d W^T unless null.
  void backward_linear(const Matrix& in, const Matrix& d, Matrix* din);

  int units_;

 private:
  Init init_;
  size_t w_offset_ = 0, b_offset_ = 0;
  const float* w_ = nullptr;
  const float* b_ = nullptr;
  float* dw_ = nullptr;
  float* db_ = nullptr;
  bool overwrite_grads_ = false;
  Gemm gemm_;  // this layer's product workspace (one Network, one thread)
};

}  // namespace podlab
