// Gemm: the AVX-512 kernel where there is one, else Eigen's blocked GEMM with a kept workspace.
//
// On the Eigen path: Eigen evaluates a row-major product as the transposed column-major one
// (C^T = B^T A^T), and a row-major matrix read as column-major is its transpose. So each product is
// one column-major call `C' (rows, cols) += L (rows, depth) R (depth, cols)` where C' is c read as
// column-major: the path and operand order Eigen itself takes for the same expression.
#include "engine/layers/gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <cassert>

#include "engine/layers/gemm_kernel.h"

namespace podlab {
namespace {

using Eigen::Index;
namespace ei = Eigen::internal;

// Blocking sizes as Eigen's gemm_blocking_space picks them, over buffers owned by the Gemm.
class KeptBlocking : public ei::level3_blocking<float, float> {
 public:
  KeptBlocking(Index rows, Index cols, Index depth, FloatBuffer& a, FloatBuffer& b) {
    m_mc = rows;
    m_nc = cols;
    m_kc = depth;
    ei::computeProductBlockingSizes<float, float, 1, Index>(m_kc, m_mc, m_nc, 1);
    const size_t size_a = static_cast<size_t>(m_mc * m_kc), size_b = static_cast<size_t>(m_kc * m_nc);
    if (a.size() < size_a) a.resize(size_a);
    if (b.size() < size_b) b.resize(size_b);
    m_blockA = a.data();
    m_blockB = b.data();
  }
};

// Column-major C (rows, cols) += L (rows, depth) R (depth, cols); LOrder/ROrder say how L and R are
// stored, with leading dimensions ld_l, ld_r.
template <int LOrder, int ROrder>
void run(const float* l, Index ld_l, const float* r, Index ld_r, float* c, Index rows, Index cols, Index depth,
         FloatBuffer& a, FloatBuffer& b) {
  KeptBlocking blocking(rows, cols, depth, a, b);
  ei::general_matrix_matrix_product<Index, float, LOrder, false, float, ROrder, false, Eigen::ColMajor, 1>::run(
      rows, cols, depth, l, ld_l, r, ld_r, c, 1, rows, 1.0f, blocking);
}

// Eigen switches to a coefficient-based product below this size, and to GEMV for a vector result.
bool degenerate(int m, int n, int k) { return m == 1 || n == 1 || m + n + k < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD; }

}  // namespace

void Gemm::ab(const float* a, const float* b, float* c, int m, int n, int k, const float* bias, bool relu) {
  if (m == 0 || n == 0) return;
  if constexpr (gemm_kernel::kAvailable) {
    using gemm_kernel::Epilogue;
    const Epilogue e = !bias ? Epilogue::kStore : relu ? Epilogue::kBiasRelu : Epilogue::kBias;
    gemm_kernel::run(m, n, k, a, k, 1, b, n, c, n, bias, e);
    if (relu && !bias) MatrixMap(c, m, n) = MatrixMap(c, m, n).cwiseMax(0.0f);
    return;
  }
  MatrixMap cm(c, m, n);
  if (k == 0) {
    cm.setZero();
  } else if (degenerate(m, n, k)) {
    cm.noalias() = ConstMatrixMap(a, m, k) * ConstMatrixMap(b, k, n);
  } else {
    cm.setZero();
    // c^T (n, m) += b^T (n, k) a^T (k, m); b and a read as column-major are b^T and a^T.
    run<Eigen::ColMajor, Eigen::ColMajor>(b, n, a, k, c, n, m, k, block_a_, block_b_);
  }
  if (bias) cm.rowwise() += ConstVectorMap(bias, n);
  if (relu) cm = cm.cwiseMax(0.0f);
}

void Gemm::atb_add(const float* a, const float* b, float* c, int m, int n, int k) {
  if (m == 0 || n == 0 || k == 0) return;
  if constexpr (gemm_kernel::kAvailable) {
    // a^T (i, kk) = a[kk * m + i]
    gemm_kernel::run(m, n, k, a, 1, m, b, n, c, n, nullptr, gemm_kernel::Epilogue::kAccumulate);
    return;
  }
  if (degenerate(m, n, k)) {
    MatrixMap cm(c, m, n);
    ConstMatrixMap am(a, k, m), bm(b, k, n);
    cm.noalias() += am.transpose() * bm;
    return;
  }
  // c^T (n, m) += b^T (n, k) a (k, m); a read as row-major is itself.
  run<Eigen::ColMajor, Eigen::RowMajor>(b, n, a, m, c, n, m, k, block_a_, block_b_);
}

void Gemm::atb(const float* a, const float* b, float* c, int m, int n, int k) {
  if (m == 0 || n == 0) return;
  if (k > 0 && gemm_kernel::kAvailable) {
    // A c of more than 4 MB (fc1's weight gradient: 12.8 MB) cannot stay in L2 anyway: streaming
    // stores skip reading every line of it in before overwriting it.
    const bool stream = static_cast<size_t>(m) * n > (size_t{1} << 20);
    gemm_kernel::run(m, n, k, a, 1, m, b, n, c, n, nullptr,
                     stream ? gemm_kernel::Epilogue::kStream : gemm_kernel::Epilogue::kStore);
    return;
  }
  MatrixMap(c, m, n).setZero();
  atb_add(a, b, c, m, n, k);
}

void Gemm::abt(const float* a, const float* b, float* c, int m, int n, int k) {
  if (m == 0 || n == 0) return;
  if (k > 0 && gemm_kernel::kAvailable) {
    if (k >= 16) {
      gemm_kernel::run_abt(m, n, k, a, k, b, k, c, n);
      return;
    }
    // Dot products shorter than a vector would leave most lanes idle: transpose b (n * k floats,
    // few at such a k) and take the broadcast kernel.
    if (bt_.size() < static_cast<size_t>(n) * k) bt_.resize(static_cast<size_t>(n) * k);
    Eigen::Map<Matrix>(bt_.data(), k, n) = ConstMatrixMap(b, n, k).transpose();
    gemm_kernel::run(m, n, k, a, k, 1, bt_.data(), n, c, n, nullptr, gemm_kernel::Epilogue::kStore);
    return;
  }
  MatrixMap cm(c, m, n);
  if (k == 0) {
    cm.setZero();
    return;
  }
  if (degenerate(m, n, k)) {
    ConstMatrixMap am(a, m, k), bm(b, n, k);
    cm.noalias() = am * bm.transpose();
    return;
  }
  cm.setZero();
  // c^T (n, m) += b (n, k) a^T (k, m); b read as row-major is itself.
  run<Eigen::RowMajor, Eigen::ColMajor>(b, k, a, k, c, n, m, k, block_a_, block_b_);
}

bool Gemm::segmented_available() { return gemm_kernel::kAvailable; }

void Gemm::ab_segmented(const float* a, ptrdiff_t a_row, ptrdiff_t a_col, int seg_len, ptrdiff_t seg_stride,
                        const float* b, float* c, int m, int n, int k, Chain chain, const float* bias, bool relu) {
  assert(gemm_kernel::kAvailable && seg_len > 0);
  assert(!bias || chain == Chain::kWhole || chain == Chain::kLast);
  if (m == 0 || n == 0) return;
  using gemm_kernel::Epilogue;
  const bool finish = chain == Chain::kWhole || chain == Chain::kLast;
  const Epilogue e = chain == Chain::kAdd ? Epilogue::kAccumulate
                     : !finish || !bias  ? Epilogue::kStore
                     : relu              ? Epilogue::kBiasRelu
                                         : Epilogue::kBias;
  const bool from_c = chain == Chain::kMore || chain == Chain::kLast;
  gemm_kernel::run_segmented(m, n, k, a, a_row, a_col, gemm_kernel::Segments{seg_len, seg_stride}, b, n, c, n, bias, e,
                             from_c);
  if (finish && relu && !bias) MatrixMap(c, m, n) = MatrixMap(c, m, n).cwiseMax(0.0f);
}

}  // namespace podlab
