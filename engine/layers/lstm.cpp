// LSTM forward and full back-propagation through time (BPTT).
//
// Per step t (0-based here; block k of a step-major scratch matrix is rows [k*batch, (k+1)*batch)):
//   xh_t = [x_t, h_{t-1}]                                   (batch, D+U)
//   a_t  = xh_t K + 1 b                                     (batch, 4U), one GEMM per step
//   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)        (batch, U) each
//   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)               (batch, U)
// Backward walks t = T-1 .. 0 carrying dh (from h_t's use in step t+1) and dc (from c_t's use in
// step t+1); with tc = tanh(c_t) and dh already including dL/dh_t from the output:
//   dc += dh o (1 - tc^2)
//   da_i = dc g i(1-i);  da_f = dc c_{t-1} f(1-f);  da_g = dc i (1-g^2);  da_o = dh tc o(1-o)
//   dxh_t = da_t K^T   -> dx_t (first D columns) and the next dh (last U columns);  dc <- dc f
// dK += sum_t xh_t^T da_t and db += sum_t 1^T da_t are done once after the loop as a single GEMM
// over all steps, which is faster than T small ones.
#include "engine/layers/lstm.h"

#include <cassert>

namespace podlab {

Lstm::Lstm(std::string scope, Shape in, int units, bool return_sequences)
    : Layer(std::move(scope), in),
      steps_(in.w),
      width_(in.c),
      units_(units),
      return_sequences_(return_sequences) {
  assert(in.h == 1 && steps_ > 0 && width_ > 0 && units_ > 0);
}

Shape Lstm::output_shape() const {
  return return_sequences_ ? Shape{1, steps_, units_} : Shape{1, 1, units_};
}

void Lstm::declare(ParamLayout& layout) {
  const int rows = width_ + units_, cols = 4 * units_;
  // Kernel init U(-1/sqrt(U), 1/sqrt(U)), as PyTorch's nn.LSTM does (the gate order also follows
  // PyTorch), so a learner can compare against it. The scale depends on U only; for MNIST rows
  // (D = 28 <= U) the pre-activation variance (D+U)/(3U) stays below 1, so no gate starts
  // saturated. Glorot with fan_in = D+U, fan_out = 4U gives almost the same range here.
  w_offset_ = layout[layout.add(scope_ + "/kernel", rows, cols, Init::kUniformScaled, units_, cols)].offset;
  // Forget-gate bias 1 so the cell remembers by default early in training (Jozefowicz et al. 2015).
  b_offset_ = layout[layout.add(scope_ + "/bias", 1, cols, Init::kForgetBias, 0, 0, 1.0f)].offset;
}

void Lstm::bind(const float* values, float* grads) {
  w_ = values + w_offset_;
  b_ = values + b_offset_;
  dw_ = grads ? grads + w_offset_ : nullptr;
  db_ = grads ? grads + b_offset_ : nullptr;
}

void Lstm::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  const int batch = static_cast<int>(in.rows());
  const int T = steps_, D = width_, U = units_;
  assert(in.cols() == T * D);
  ConstMatrixMap w(w_, D + U, 4 * U);
  ConstVectorMap b(b_, 4 * U);

  // resize() is a no-op when the shape is unchanged, so a stable batch allocates nothing.
  xh_.resize(T * batch, D + U);
  gates_.resize(T * batch, 4 * U);
  cells_.resize((T + 1) * batch, U);
  hidden_.resize((T + 1) * batch, U);
  cells_.topRows(batch).setZero();
  hidden_.topRows(batch).setZero();

  for (int t = 0; t < T; ++t) {
    auto xh = xh_.middleRows(t * batch, batch);
    xh.leftCols(D) = in.middleCols(t * D, D);
    xh.rightCols(U) = hidden_.middleRows(t * batch, batch);

    auto a = gates_.middleRows(t * batch, batch);
    a.noalias() = xh * w;
    a.rowwise() += b;
    a.leftCols(2 * U) = a.leftCols(2 * U).array().logistic();  // i, f
    a.middleCols(2 * U, U) = a.middleCols(2 * U, U).array().tanh();  // g
    a.rightCols(U) = a.rightCols(U).array().logistic();  // o

    const auto i = a.leftCols(U).array();
    const auto f = a.middleCols(U, U).array();
    const auto g = a.middleCols(2 * U, U).array();
    const auto o = a.rightCols(U).array();
    auto c = cells_.middleRows((t + 1) * batch, batch).array();
    c = f * cells_.middleRows(t * batch, batch).array() + i * g;
    hidden_.middleRows((t + 1) * batch, batch).array() = o * c.tanh();
  }

  if (return_sequences_) {
    out.resize(batch, T * U);
    for (int t = 0; t < T; ++t) out.middleCols(t * U, U) = hidden_.middleRows((t + 1) * batch, batch);
  } else {
    out.resize(batch, U);
    out = hidden_.bottomRows(batch);
  }
}

void Lstm::backward(const Matrix& /*in*/, const Matrix& /*out*/, const Matrix& dout, Matrix* din) {
  assert(dw_ && db_);
  const int batch = static_cast<int>(dout.rows());
  const int T = steps_, D = width_, U = units_;
  assert(gates_.rows() == T * batch);  // forward ran on this batch
  assert(dout.cols() == (return_sequences_ ? T * U : U));
  ConstMatrixMap w(w_, D + U, 4 * U);

  dgates_.resize(T * batch, 4 * U);
  dxh_.resize(batch, D + U);
  dh_.resize(batch, U);
  dc_.resize(batch, U);
  dh_.setZero();
  dc_.setZero();
  if (din) din->resize(batch, T * D);

  for (int t = T - 1; t >= 0; --t) {
    if (return_sequences_)
      dh_ += dout.middleCols(t * U, U);
    else if (t == T - 1)
      dh_ += dout;

    const auto a = gates_.middleRows(t * batch, batch);
    const auto i = a.leftCols(U).array();
    const auto f = a.middleCols(U, U).array();
    const auto g = a.middleCols(2 * U, U).array();
    const auto o = a.rightCols(U).array();
    const auto c = cells_.middleRows((t + 1) * batch, batch).array();
    const auto c_prev = cells_.middleRows(t * batch, batch).array();
    auto dh = dh_.array();
    auto dc = dc_.array();

    // tanh(c_t) is recomputed (twice, inside the two expressions) rather than stored: it is cheap
    // next to the GEMMs and saves a (T*batch, U) buffer.
    dc += dh * o * (1.0f - c.tanh().square());
    auto da = dgates_.middleRows(t * batch, batch);
    da.leftCols(U).array() = dc * g * i * (1.0f - i);
    da.middleCols(U, U).array() = dc * c_prev * f * (1.0f - f);
    da.middleCols(2 * U, U).array() = dc * i * (1.0f - g.square());
    da.rightCols(U).array() = dh * c.tanh() * o * (1.0f - o);
    dc *= f;  // now dL/dc_{t-1} through c_t

    if (t == 0 && !din) break;  // neither dx_0 nor dh_{-1} is wanted
    dxh_.noalias() = da * w.transpose();
    if (din) din->middleCols(t * D, D) = dxh_.leftCols(D);
    dh_ = dxh_.rightCols(U);  // dL/dh_{t-1} through step t
  }

  MatrixMap dw(dw_, D + U, 4 * U);
  VectorMap db(db_, 4 * U);
  dw.noalias() += xh_.transpose() * dgates_;  // (D+U, T*batch) x (T*batch, 4U)
  // Aligned scratch first: Eigen's reduction order depends on the destination's alignment.
  dbias_.noalias() = dgates_.colwise().sum();
  db += dbias_;
}

int64_t Lstm::forward_flops() const {
  const int64_t D = width_, U = units_;
  // Per step: the (D+U) x 4U GEMM, plus roughly 12 flops per unit for the bias, activations
  // and the cell and hidden updates.
  return static_cast<int64_t>(steps_) * (2 * (D + U) * 4 * U + 12 * U);
}

std::string Lstm::describe(ModelGraph& g, const std::string& input) const {
  const int rows = width_ + units_, cols = 4 * units_;
  const std::string k = g.add(scope_ + "/kernel", "VariableV2", {}, {rows, cols}, scope_ + "/kernel");
  const std::string b = g.add(scope_ + "/bias", "VariableV2", {}, {cols}, scope_ + "/bias");
  return g.add(scope_ + "/LSTM", "LSTM", {input, k, b}, batch_shape(output_shape()));
}

}  // namespace podlab
