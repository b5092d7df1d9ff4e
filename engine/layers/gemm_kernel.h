// Gemm's register-tiled AVX-512 kernel (internal to engine/layers/gemm.cpp; see there for when it
// is used). Row-major products with the element order fixed by the shapes alone, so results are
// bit-for-bit reproducible for a given build.
#pragma once

#include <cstddef>

namespace podlab::gemm_kernel {

#if defined(__AVX512F__)
inline constexpr bool kAvailable = true;
#else
inline constexpr bool kAvailable = false;
#endif

// What the kernel does with a finished tile S = sum over k of a(i, k) b(k, j).
enum class Epilogue {
  kStore,       // c = S
  kStream,      // c = S, with non-temporal stores where aligned
  kAccumulate,  // c = c + S
  kBias,        // c = S + bias
  kBiasRelu,    // c = max(S + bias, 0)
};

// c (m, n) from a (m, k) and b (k, n): a(i, kk) = a[i * a_row + kk * a_col] (so a row-major a has
// a_row = k, a_col = 1, and a transposed one a_row = 1, a_col = m); b row kk starts at b + kk * ldb;
// c row i at c + i * ldc; bias has n floats. Only when kAvailable.
void run(int m, int n, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, const float* b, ptrdiff_t ldb,
         float* c, ptrdiff_t ldc, const float* bias, Epilogue epilogue);

// How a's columns are laid out for run_segmented: k is cut into runs of `len` columns; column kk of
// run r (kk in [0, len)) of row i is a[i * a_row + r * stride + kk * a_col]. One run of len >= k is
// an ordinary strided matrix. This reads an im2col matrix in place from a zero-padded NHWC image:
// the K cells of one kernel row are one run of K*C contiguous floats, and the next kernel row starts
// one padded image row further on.
struct Segments {
  int len;
  ptrdiff_t stride;
};

// run() over a segmented a, with the same summation order (k order). With `from_c` the accumulators
// start from c, the partial sums an earlier call over the k range just before this one left there
// (with kStore): a product cut along k into several calls then sees exactly the FMA chain of one call.
// b is not blocked along k here: the caller cuts k so that its rows of b stay in L1.
void run_segmented(int m, int n, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, Segments seg,
                   const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias, Epilogue epilogue,
                   bool from_c);

// c (m, n) = a b^T with a (m, k) and b (n, k) both read along rows (row i of a at a + i * lda, row j
// of b at b + j * ldb): dot products, gemm_dot_kernel.cpp. Only when kAvailable.
void run_abt(int m, int n, int k, const float* a, ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
             ptrdiff_t ldc);

}  // namespace podlab::gemm_kernel
