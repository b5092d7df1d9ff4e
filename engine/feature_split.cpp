// FeatureSplit: the input Dense split over its input features (see the header for the scheme).
#include "engine/feature_split.h"

#include <numeric>

#include "engine/layers/fused_dense.h"
#include "engine/optim/optimizer.h"

namespace podlab {

std::unique_ptr<FeatureSplit> FeatureSplit::create(const Network& net, int parts) {
  int index = -1;
  const Dense* dense = net.input_dense(&index);
  if (!dense || parts < 2 || dense->inputs() < parts || dense->weights_offset() != 0) return nullptr;
  std::unique_ptr<FeatureSplit> s(new FeatureSplit());
  s->index_ = index;
  s->parts_ = parts;
  s->inputs_ = dense->inputs();
  s->units_ = dense->units();
  s->w_offset_ = dense->weights_offset();
  s->b_offset_ = dense->biases_offset();
  if (const auto* fused = dynamic_cast<const FusedDense*>(dense)) {
    s->has_act_ = true;
    s->act_ = fused->activation();
  }
  const ParamLayout& layout = net.layout();
  s->vars_end_ = layout.total();
  for (size_t v = 0; v + 1 < layout.params().size(); ++v)
    if (layout.params()[v].offset == s->b_offset_) s->vars_end_ = layout.params()[v + 1].offset;
  // Cuts on whole cache lines of the flat buffer where the shapes allow, so parts do not share lines:
  // a feature boundary f starts W's row f at f * units floats.
  const int align = static_cast<int>(Optimizer::kRangeAlign);
  const int row_step = align / std::gcd(s->units_, align);
  if (s->inputs_ < 2 * parts * row_step) return nullptr;  // every part gets some features
  for (int r = 0; r <= parts; ++r) {
    const bool last = r == parts;
    s->feature_cut_.push_back(last ? s->inputs_ : s->inputs_ * r / parts / row_step * row_step);
    s->unit_cut_.push_back(last ? s->units_ : s->units_ * r / parts / align * align);
  }
  s->xs_.resize(parts);
  s->partial_.resize(parts);
  s->gemm_.resize(parts);
  return s;
}

void FeatureSplit::owned_ranges(int r, size_t first[2], size_t count[2]) const {
  const size_t units = static_cast<size_t>(units_);
  first[0] = w_offset_ + feature_cut_[r] * units;
  count[0] = (feature_cut_[r + 1] - feature_cut_[r]) * units;
  first[1] = b_offset_ + unit_cut_[r];
  count[1] = unit_cut_[r + 1] - unit_cut_[r];
}

void FeatureSplit::forward_partial(int r, const Split& data, const int* idx, int n, const float* values) {
  const int f0 = feature_cut_[r], features = feature_cut_[r + 1] - f0;
  data.gather(idx, n, f0, features, xs_[r], nullptr);
  partial_[r].resize(n, units_);
  gemm_[r].ab(xs_[r].data(), values + w_offset_ + static_cast<size_t>(f0) * units_, partial_[r].data(), n,
              units_, features);
  if (r == 0) dpre_.resize(n, units_);  // before the barrier that precedes every use
}

void FeatureSplit::combine(int lo, int hi, const float* values, Matrix& out) {
  const int rows = hi - lo;
  out = partial_[0].middleRows(lo, rows);
  for (int q = 1; q < parts_; ++q) out += partial_[q].middleRows(lo, rows);
  out.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(values + b_offset_, units_);
  if (has_act_) activation_forward(act_, out);
}

void FeatureSplit::backward_rows(int lo, const Matrix& out, const Matrix& dout) {
  auto rows = dpre_.middleRows(lo, dout.rows());
  if (has_act_) activation_backward_into(act_, out, dout, rows);
  else rows = dout;
}

void FeatureSplit::weight_gradient(int r, float* grads) {
  const int f0 = feature_cut_[r], features = feature_cut_[r + 1] - f0, n = static_cast<int>(dpre_.rows());
  gemm_[r].atb(xs_[r].data(), dpre_.data(), grads + w_offset_ + static_cast<size_t>(f0) * units_, features,
               units_, n);
  // Bias gradient row by row, as Dense sums it.
  const int j0 = unit_cut_[r], cols = unit_cut_[r + 1] - j0;
  Eigen::Map<Eigen::RowVectorXf> db(grads + b_offset_ + j0, cols);
  if (n == 0) {
    db.setZero();
    return;
  }
  db = dpre_.row(0).segment(j0, cols);
  for (int i = 1; i < n; ++i) db += dpre_.row(i).segment(j0, cols);
}

}  // namespace podlab
