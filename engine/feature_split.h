// FeatureSplit: a network's input Dense (the MLP's first layer) run by P threads split over its input
// features, while the layers above it stay split over the batch (trainer.h).
//
// Why: in a plain data-parallel step every thread computes a whole-size gradient for the first
// layer's W (784 x 200 of the MLP's 199k floats), and the threads then sum and apply those gradients
// slice by slice, so most of W's gradient and then most of W cross between cores every step. Split
// over features, thread r owns rows I_r of W (and columns J_r of b): it gathers features I_r of the
// whole batch, xs_r (batch, |I_r|), and
//   forward   partial_r = xs_r W[I_r, :]                      (batch, units), k = |I_r|
//   (barrier) out rows R_r = act(sum_q partial_q[R_r] + b)    rows R_r: its slice of the batch
//   backward  dpre rows R_r = dout * act'(out)                after the layers above, on rows R_r
//   (barrier) dW[I_r, :] = xs_r^T dpre, db[J_r] = column sums of dpre[:, J_r], in row order
// so W, its gradient and its optimiser state stay with one thread; only the partial products and
// dpre (batch x units each) are shared. The partials are summed in part order, so results depend
// only on P, never on scheduling. Preallocated: once the batch size is stable nothing allocates.
#pragma once

#include <memory>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/layers/activation.h"
#include "engine/layers/gemm.h"
#include "engine/network.h"

namespace podlab {

class FeatureSplit {
 public:
  // Null when `net` has no input Dense (Network::input_dense) or it has fewer inputs than parts.
  static std::unique_ptr<FeatureSplit> create(const Network& net, int parts);

  int layer_index() const { return index_; }  // of the split layer in the network
  // Float range [0, end) of the flat buffer holding the split layer's variables (it declares first).
  size_t variables_end() const { return vars_end_; }
  // Part r's floats of that range, as [first, first + count) pairs: its rows of W, its columns of b.
  void owned_ranges(int r, size_t first[2], size_t count[2]) const;

  // Part r: gathers its features of samples idx[0..n) and multiplies by its rows of W.
  void forward_partial(int r, const Split& data, const int* idx, int n, const float* values);
  // After all parts' forward_partial: out (hi - lo, units) = act(sum of partials + b) for batch rows
  // [lo, hi).
  void combine(int lo, int hi, const float* values, Matrix& out);
  // dL/d(pre-activation) for batch rows [lo, hi) from that out and dout = dL/dout (hi - lo, units).
  void backward_rows(int lo, const Matrix& out, const Matrix& dout);
  // After all parts' backward_rows: part r's rows of dW and columns of db, written into `grads`.
  void weight_gradient(int r, float* grads);

 private:
  FeatureSplit() = default;
  int index_ = 0, parts_ = 0, inputs_ = 0, units_ = 0;
  bool has_act_ = false;
  Activation act_ = Activation::kRelu;
  size_t w_offset_ = 0, b_offset_ = 0, vars_end_ = 0;
  std::vector<int> feature_cut_, unit_cut_;  // parts + 1 boundaries each
  std::vector<Matrix> xs_, partial_;  // per part: (batch, its features), (batch, units)
  Matrix dpre_;                       // (batch, units), rows written by the part that owns them
  std::vector<Gemm> gemm_;            // per part
};

}  // namespace podlab
