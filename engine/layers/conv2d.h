// Conv2D over NHWC images, computed as im2col + GEMM over chunks of samples (see conv2d.cpp).
//   in (batch, H*W*Cin) -> out (batch, Ho*Wo*F)
//   weights "scope/weights" (K*K*Cin, F), row index (ky*K + kx)*Cin + ci; biases "scope/biases" (1, F)
//   SAME: Ho = ceil(H / stride), padding split as TensorFlow does (extra on the bottom/right);
//   VALID: Ho = floor((H - K) / stride) + 1.
// With `relu`, the layer is Conv2D then ReLU in one (out = max(conv + b, 0)): the ReLU is applied in
// the product's last pass, and backward masks dL/dout in the same pass that sums the bias gradient.
// It keeps kind() "Conv2D" and describes itself as Conv2D, BiasAdd, Relu.
#pragma once

#include <vector>

#include "engine/layers/gemm.h"
#include "engine/layers/layer.h"

namespace podlab {

enum class Padding { kSame, kValid };

class Conv2D : public Layer {
 public:
  Conv2D(std::string scope, Shape in, int filters, int kernel, int stride = 1, Padding padding = Padding::kSame,
         bool relu = false);
  std::string kind() const override { return "Conv2D"; }
  Shape output_shape() const override { return out_; }
  void declare(ParamLayout& layout) override;
  void bind(const float* values, float* grads) override;
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override;
  std::string describe(ModelGraph& graph, const std::string& input) const override;

 private:
  int chunk_samples() const;
  // Whether products read im2col in place from a padded image (Gemm::ab_segmented) rather than from
  // a materialised cols_ matrix: where that kernel exists (AVX-512 builds).
  bool implicit_im2col() const;
  void input_gradient_implicit(const float* d, float* din);

  int filters_, kernel_, stride_;
  Padding padding_;
  bool relu_;
  Shape out_;
  int pad_top_ = 0, pad_left_ = 0;
  size_t w_offset_ = 0, b_offset_ = 0;
  const float* w_ = nullptr;
  const float* b_ = nullptr;
  float* dw_ = nullptr;
  float* db_ = nullptr;
  Matrix cols_;   // (chunk*Ho*Wo, K*K*Cin) im2col scratch for one chunk of samples
  Matrix dcols_;  // same shape, for backward
  std::vector<float> padded_;  // one zero-padded input sample, read by im2col or in place
  Gemm gemm_;     // products on kept workspaces
  Matrix wt_;     // (F, K*K*Cin) weights transposed, for the input gradient
  Matrix wflip_;  // (K*K*F, Cin) weights flipped and transposed, for the in-place input gradient
  std::vector<float> dpadded_;  // one sample's dL/d(conv + b) zero-padded by K-1 cells on every side
  Vector dbias_;  // (1, F) bias gradient of one backward, summed in an aligned buffer (see backward)
  Vector dbias_part_;  // (1, F) one sample's part of it
  Matrix dpre_;   // (chunk, Ho*Wo*F) dL/d(conv + b) with relu: one chunk's dout masked by [out > 0]
};

}  // namespace podlab
