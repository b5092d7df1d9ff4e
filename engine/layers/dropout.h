// Dropout (inverted): in training, each element is zeroed with probability `rate` and the survivors
// are scaled by 1/(1-rate), so inference is the identity. (batch, n) -> (batch, n).
// The mask for a step comes from set_step_seed(), so a run is reproducible for a given seed and
// thread count.
#pragma once

#include "engine/layers/layer.h"

namespace podlab {

class Dropout : public Layer {
 public:
  Dropout(std::string scope, Shape in, float rate);
  std::string kind() const override { return "Dropout"; }
  Shape output_shape() const override { return in_; }
  void forward(const Matrix& in, Matrix& out, bool training) override;
  void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) override;
  void set_step_seed(uint64_t seed) override { seed_ = seed; }
  float rate() const { return rate_; }

 private:
  float rate_;
  uint64_t seed_ = 0;
  bool last_training_ = false;
  Matrix mask_;  // (batch, n): 0 or 1/(1-rate)
};

}  // namespace podlab
