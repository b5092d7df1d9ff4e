// Matrix products for the dense layers, into caller-owned outputs and without heap allocation per call.
//
// `c.noalias() = a * b` in Eigen builds a fresh GEMM workspace (the packed panels of a and b) on every
// call; past EIGEN_STACK_ALLOCATION_LIMIT (128 KB) that is a malloc/free pair, and past glibc's mmap
// threshold a new zero-filled mapping and its page faults, every step. Gemm runs the same Eigen kernel
// (Eigen::internal::general_matrix_matrix_product, with the blocking sizes Eigen would pick) on a
// workspace it keeps, so results are bit-for-bit those of the Eigen expression and a step with stable
// shapes allocates nothing. Degenerate shapes (a vector operand, or tiny products Eigen evaluates
// coefficient-wise) go through the plain Eigen expression.
//
// All matrices are dense and row-major, given as raw pointers: a (m, k) means m rows of k floats.
// One Gemm serves one thread; the workspace grows to the largest product seen and is then reused.
#pragma once

#include "engine/params.h"

namespace podlab {

class Gemm {
 public:
  // c (m, n) = a (m, k) b (k, n), or c += a b when `accumulate`.
  void ab(const float* a, const float* b, float* c, int m, int n, int k, bool accumulate);
  // c (m, n) += a^T b with a (k, m), b (k, n): a weight gradient, in^T dout.
  void atb_add(const float* a, const float* b, float* c, int m, int n, int k);
  // c (m, n) = a b^T with a (m, k), b (n, k): an input gradient, dout W^T.
  void abt(const float* a, const float* b, float* c, int m, int n, int k);

 private:
  FloatBuffer block_a_, block_b_;  // Eigen's packed lhs and rhs panels
};

}  // namespace podlab
