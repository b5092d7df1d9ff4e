// Matrix products for the dense layers, into caller-owned outputs and without heap allocation.
//
// On AVX-512 builds the products go through a register-tiled kernel (gemm_kernel.cpp) that reads
// the operands in place and applies a bias and ReLU while each tile is still in registers; it runs the
// MLP's products at about 90% of a core's FMA peak where Eigen's GEMM manages 75-85%. A b^T product
// takes a dot-product kernel that reads both operands along rows (gemm_dot_kernel.cpp), or for k < 16
// the first kernel on a transposed copy of b. Other builds use Eigen's blocked GEMM
// (Eigen::internal::general_matrix_matrix_product, with the blocking Eigen picks) on a workspace kept
// here: `c.noalias() = a * b` would allocate that workspace on every call (a malloc/free pair past
// EIGEN_STACK_ALLOCATION_LIMIT, and past glibc's mmap threshold a new zero-filled mapping). Degenerate
// shapes on the Eigen path (a vector operand, tiny products) use the plain Eigen expression.
//
// All matrices are dense and row-major, given as raw pointers: a (m, k) means m rows of k floats.
// Results depend only on the shapes and the build, so they are reproducible bit for bit. One Gemm
// serves one thread; its workspace grows to the largest product seen and is then reused.
#pragma once

#include <cstddef>

#include "engine/params.h"

namespace podlab {

class Gemm {
 public:
  // c (m, n) = a (m, k) b (k, n), plus `bias` (n floats) on every row when non-null, then
  // max(., 0) when `relu`.
  void ab(const float* a, const float* b, float* c, int m, int n, int k, const float* bias = nullptr,
          bool relu = false);
  // c (m, n) += a^T b with a (k, m), b (k, n): a weight gradient, in^T dout.
  void atb_add(const float* a, const float* b, float* c, int m, int n, int k);
  // c (m, n) = a^T b: the same product written instead of added.
  void atb(const float* a, const float* b, float* c, int m, int n, int k);
  // c (m, n) = a b^T with a (m, k), b (n, k): an input gradient, dout W^T.
  void abt(const float* a, const float* b, float* c, int m, int n, int k);

  // Whether ab_segmented runs in this build (AVX-512); elsewhere callers materialise a themselves.
  static bool segmented_available();
  // How one call's sums S (k order, by FMA) meet c. A product cut along k into calls kFirst, kMore...,
  // kLast sees exactly the FMA chain of one kWhole call (partial sums wait in c between calls).
  enum class Chain {
    kWhole,  // c = S, plus bias then ReLU as asked
    kAdd,    // c += S
    kFirst,  // c = S, partial
    kMore,   // c = the partial in c, continued by S; still partial
    kLast,   // the same, then bias and ReLU as asked
  };
  // c (m, n) from a b as `chain` says, where a is read in place: a(i, kk) = a[i * a_row +
  // (kk / seg_len) * seg_stride + (kk % seg_len) * a_col]. That is an im2col matrix over a zero-padded
  // image, never built (see conv2d.cpp); b (k, n) row-major. Only where segmented_available().
  void ab_segmented(const float* a, ptrdiff_t a_row, ptrdiff_t a_col, int seg_len, ptrdiff_t seg_stride,
                    const float* b, float* c, int m, int n, int k, Chain chain, const float* bias = nullptr,
                    bool relu = false);

 private:
  FloatBuffer block_a_, block_b_;  // Eigen's packed lhs and rhs panels
  FloatBuffer bt_;                 // b transposed, for a b^T with a short k
};

}  // namespace podlab
