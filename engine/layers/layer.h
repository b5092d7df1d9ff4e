// The layer contract. A layer maps a batch (batch, in.size()) to (batch, out.size()); forward and
// backward sit side by side in one small file per layer.
//
// Life cycle: construct with the input shape -> declare() its variables into the model's ParamLayout
// -> bind() to the flat value and gradient buffers -> forward()/backward() per step. A layer keeps the
// scratch it needs between forward and backward (so one instance serves one thread); it never
// allocates once the batch size is stable. backward() ADDS into the gradient buffer (zeroing is the
// model's job) and writes dL/din unless `din` is null (first layer).
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph/model_graph.h"
#include "engine/params.h"
#include "engine/tensor.h"

namespace podlab {

class Layer {
 public:
  Layer(std::string scope, Shape in) : scope_(std::move(scope)), in_(in) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual std::string kind() const = 0;      // "Dense", "ReLU", ...
  virtual Shape output_shape() const = 0;
  Shape input_shape() const { return in_; }
  const std::string& scope() const { return scope_; }  // name scope, e.g. "layer1"

  // Declares this layer's variables (names are scope/variable). Default: none.
  virtual void declare(ParamLayout& /*layout*/) {}
  // Points the layer at the buffers laid out by the layout it declared into. `values` stays constant
  // during a step; `grads` is this layer's thread's own gradient buffer.
  virtual void bind(const float* /*values*/, float* /*grads*/) {}

  // in: (batch, in.size()) -> out: (batch, out.size()). `training` enables dropout.
  virtual void forward(const Matrix& in, Matrix& out, bool training) = 0;
  // in, out: as in the last forward; dout: dL/dout (batch, out.size()); din: dL/din or null.
  virtual void backward(const Matrix& in, const Matrix& out, const Matrix& dout, Matrix* din) = 0;

  // Seeds per-step randomness (dropout masks); called before each training forward.
  virtual void set_step_seed(uint64_t /*seed*/) {}

  // Multiply-adds x2 per sample for one forward pass (backward is about twice that).
  virtual int64_t forward_flops() const { return 0; }

  // Appends this layer's ops; `input` names the op that feeds it. Returns the name of its output op.
  virtual std::string describe(ModelGraph& graph, const std::string& input) const;

 protected:
  std::string scope_;
  Shape in_;
};

// Batch shape for graph descriptions: [-1, h, w, c] without unit dims for flat vectors.
std::vector<int> batch_shape(Shape s);

}  // namespace podlab
