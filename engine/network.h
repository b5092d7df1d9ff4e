// A Network is the layer stack built from a ModelSpec plus the per-thread scratch for one forward and
// backward pass. Parameters are not owned: bind() points the network at a flat value buffer (shared,
// read-only during a step) and a gradient buffer (this network's own). Several Networks built from the
// same spec share one layout, which is how data-parallel threads and cluster workers replicate a model.
//
// Two shortcuts keep a step lean: a Flatten is a view (its output is its input matrix, so nothing is
// copied either way), and backward does not compute dL/din for layers with no variables below them
// (for an MLP, the first Dense skips its (batch, 784) input gradient).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/graph/model_graph.h"
#include "engine/layers/dense.h"
#include "engine/layers/layer.h"
#include "engine/model_spec.h"
#include "engine/params.h"

namespace podlab {

class Network {
 public:
  static Result<std::unique_ptr<Network>> build(const ModelSpec& spec, Shape input, int classes);

  const ModelSpec& spec() const { return spec_; }
  const ParamLayout& layout() const { return layout_; }
  Shape input_shape() const { return input_; }
  int classes() const { return classes_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

  // values: layout().total() floats, read-only during forward/backward; grads: same size or null
  // (inference only).
  void bind(const float* values, float* grads);

  // x (batch, input.size()) -> logits (batch, classes); the reference stays valid until the next call.
  // `x` must outlive the matching backward().
  const Matrix& forward(const Matrix& x, bool training);
  // dlogits (batch, classes) for the last forward; adds dL/dparams into the bound gradient buffer,
  // or with `overwrite` writes them (every variable's gradient; the padding between variables is
  // left alone), so the caller need not zero the buffer each step.
  void backward(const Matrix& dlogits, bool overwrite = false);

  // The Dense that reads the batch itself (only views such as Flatten below it) and has layers above
  // it, with its index; null when the network does not start that way (a CNN, a single Dense).
  // A caller may then run that layer itself (feature_split.h) and the rest with the two calls below.
  const Dense* input_dense(int* index) const;
  // Runs the layers above layer k on `out_k` as layer k's output (batch, its units) -> logits.
  // `out_k` must outlive the matching backward_above().
  const Matrix& forward_above(int k, const Matrix& out_k, bool training);
  // Backward through the layers above k for the last forward_above (as backward() does for them);
  // returns dL/d(output of layer k) (batch, its units), valid until the next backward.
  const Matrix& backward_above(int k, const Matrix& dlogits, bool overwrite);
  // Seeds per-step randomness (dropout); layer k gets derive_seed(seed, k).
  void set_step_seed(uint64_t seed);
  // Output of layer k in the last forward (k = -1: the input).
  const Matrix& activation(int k) const { return k < 0 ? *input_batch_ : out_[k] ? *out_[k] : acts_[k]; }

  int64_t forward_flops_per_sample() const;
  // Forward + backward, the usual 3x forward estimate.
  int64_t train_flops_per_sample() const { return 3 * forward_flops_per_sample(); }
  ModelGraph describe() const;

 private:
  Network() = default;
  // Layers first.. on `in` as the input of layer `first`.
  const Matrix& run_forward(size_t first, const Matrix& in, bool training);
  // Layers from the top down to `stop` (inclusive); returns dL/d(input of layer stop), or null below
  // the lowest layer with variables.
  const Matrix* run_backward(size_t stop, const Matrix& dlogits, bool overwrite);
  ModelSpec spec_;
  Shape input_;
  int classes_ = 10;
  ParamLayout layout_;
  std::vector<std::unique_ptr<Layer>> layers_;
  const Matrix* input_batch_ = nullptr;
  std::vector<Matrix> acts_;   // acts_[k]: output of layer k (unused for views)
  std::vector<const Matrix*> out_;  // out_[k]: &acts_[k], or a view's input; null before forward
  std::vector<Matrix> grads_;  // grads_[k]: dL/d(output of layer k) (unused below a view's input)
  std::vector<char> view_;       // view_[k]: layer k only reshapes (Flatten)
  std::vector<char> needs_din_;  // needs_din_[k]: a layer below k has variables
  std::vector<Dense*> dense_;    // dense_[k]: layer k as a Dense (it can overwrite gradients), or null
  std::vector<std::pair<int, int>> vars_;  // vars_[k]: layer k's variables, [first, last) in layout_
  float* grad_buffer_ = nullptr;
};

}  // namespace podlab
