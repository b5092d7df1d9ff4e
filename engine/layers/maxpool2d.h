// MaxPool2D over NHWC images: (batch, H*W*C) -> (batch, Ho*Wo*C), window `size`, step `stride`,
// SAME or VALID padding with the same output-size rules as Conv2D (padded cells never win).
// Backward routes each output gradient to the input cell that held the maximum (first one on ties).
#pragma once

#include <vector>

#include "engine/layers/conv2d.h"

namespace podlab {

class MaxPool2D : public Layer {
 public:
  MaxPool2D(std::string scope, Shape in, int size = 2, int stride = 2, Padding padding = Padding::kSame);
  std::string kind() const override { return "MaxPool"; }
  Shape output_shape() const override { return out_; }
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  int64_t forward_flops() const override;

 private:
  bool tiled() const;  // 2x2 windows, step 2, no padding, covering the image exactly
  void forward_tiled(const Matrix& in, Matrix& out);
  void backward_tiled(const Matrix& dout, Matrix& din);

  int size_, stride_;
  Padding padding_;
  Shape out_;
  int pad_top_ = 0, pad_left_ = 0;
  std::vector<int> argmax_;  // (batch * Ho*Wo*C) index into the sample's input row
};

}  // namespace podlab
