// Flatten: (batch, h*w*c) stored NHWC -> (batch, h*w*c) as a flat vector. The data does not move
// (batches are already flat rows); only the shape the next layer sees changes.
#pragma once

#include "engine/layers/layer.h"

namespace podlab {

class Flatten : public Layer {
 public:
  Flatten(std::string scope, Shape in) : Layer(std::move(scope), in) {}
  std::string kind() const override { return "Flatten"; }
  Shape output_shape() const override { return Shape{1, 1, in_.size()}; }
  void forward(const Matrix& in, Matrix& out, bool /*training*/) override { out = in; }
  void backward(const Matrix&, const Matrix&, const Matrix& dout, Matrix* din) override {
    if (din) *din = dout;
  }
  std::string describe(ModelGraph& graph, const std::string& input) const override {
    return graph.add(scope_ + "/Reshape", "Reshape", {input}, batch_shape(output_shape()));
  }
};

}  // namespace podlab
