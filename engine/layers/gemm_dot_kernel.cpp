// The AVX-512 kernel for c = a b^T with both operands read along their rows: every output is a dot
// product of a row of a and a row of b, so nothing needs transposing or packing. This is the input
// gradient dout W^T of a Dense layer, where b = W (n_in, n_out) is large (fc1 of the CNN: 3136 x 1024,
// 12.8 MB): each row of W is read once from memory, sequentially, and then stays in L1 while it meets
// every row of dout. Eigen's GEMM instead packed W^T through a strided gather (3.8-5 ms per batch of 50
// against about 2.6 ms here).
//
// Register tile: 3 rows of a x 8 rows of b, 24 zmm accumulators each holding 16 lane-wise partial
// sums along k (the last vector masked at k's end); then the 8 accumulators of a tile row are reduced
// to their 8 sums together (a transpose-and-add tree, about 20 instructions per 8 outputs).
//
// Summation order: lane l of an accumulator sums a(i, kk) b(j, kk) for kk = l, l + 16, ... by FMA,
// then the 16 lanes are added in a fixed tree. It depends only on k, never on threads or alignment.
#include "engine/layers/gemm_kernel.h"

#if defined(__AVX512F__)
// GCC 12 reports the deliberately undefined pass-through operand inside the shuffle and unpack
// intrinsics' own definitions (avx512fintrin.h) as used uninitialized; the code here is not affected.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>

namespace podlab::gemm_kernel {
namespace {

constexpr int kLanes = 16;
constexpr int kTileRows = 3;  // rows of a per tile
constexpr int kTileCols = 8;  // rows of b per tile (columns of c)

// The 8 horizontal sums of v[0..7], in order, in the low 8 lanes.
inline __m256 sum8(const __m512 v[8]) {
  // Pairs: [v0 lanes 0-7 + 8-15 | v1 lanes 0-7 + 8-15] as two 256-bit halves.
  __m512 x[4];
  for (int p = 0; p < 4; ++p) {
    const __m512 lo = _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44);  // v0.q0 v0.q1 v1.q0 v1.q1
    const __m512 hi = _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xEE);  // v0.q2 v0.q3 v1.q2 v1.q3
    x[p] = _mm512_add_ps(lo, hi);
  }
  // Quads: each 128-bit lane q holds 4 partial sums of v[q] (y0: v0..v3; y1: v4..v7).
  const __m512 y0 = _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xDD));
  const __m512 y1 = _mm512_add_ps(_mm512_shuffle_f32x4(x[2], x[3], 0x88), _mm512_shuffle_f32x4(x[2], x[3], 0xDD));
  // Within each 128-bit lane q: [v_q, v_q+4, v_q, v_q+4] after two add steps.
  const __m512 z = _mm512_add_ps(_mm512_unpacklo_ps(y0, y1), _mm512_unpackhi_ps(y0, y1));
  const __m512 w = _mm512_add_ps(z, _mm512_shuffle_ps(z, z, _MM_SHUFFLE(1, 0, 3, 2)));
  // Lanes 0, 4, 8, 12 hold v0..v3; lanes 1, 5, 9, 13 hold v4..v7.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(order, w));
}

// One tile: MR rows of a x NR rows of b (NR <= 8; the missing ones read as zero).
template <int MR, int NR>
__attribute__((noinline)) void dot_tile(int k, const float* a, ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
                                        ptrdiff_t ldc) {
  __m512 acc[MR][kTileCols];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < kTileCols; ++j) acc[i][j] = _mm512_setzero_ps();
  int kk = 0;
  for (; kk + kLanes <= k; kk += kLanes) {
    __m512 av[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) av[i] = _mm512_loadu_ps(a + i * lda + kk);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      __m512 bj = _mm512_loadu_ps(b + j * ldb + kk);
      asm("" : "+v"(bj));  // one load per b vector: GCC would otherwise fold it into all MR FMAs
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], bj, acc[i][j]);
    }
  }
  if (kk < k) {
    const __mmask16 m = static_cast<__mmask16>((1u << (k - kk)) - 1u);
    __m512 av[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) av[i] = _mm512_maskz_loadu_ps(m, a + i * lda + kk);
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m512 bj = _mm512_maskz_loadu_ps(m, b + j * ldb + kk);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], bj, acc[i][j]);
    }
  }
  const __mmask8 store = static_cast<__mmask8>((1u << NR) - 1u);
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) _mm256_mask_storeu_ps(c + i * ldc, store, sum8(acc[i]));
}

template <int MR>
void dot_tile_cols(int cols, int k, const float* a, ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
                   ptrdiff_t ldc) {
  switch (cols) {
    case 1: dot_tile<MR, 1>(k, a, lda, b, ldb, c, ldc); break;
    case 2: dot_tile<MR, 2>(k, a, lda, b, ldb, c, ldc); break;
    case 3: dot_tile<MR, 3>(k, a, lda, b, ldb, c, ldc); break;
    case 4: dot_tile<MR, 4>(k, a, lda, b, ldb, c, ldc); break;
    case 5: dot_tile<MR, 5>(k, a, lda, b, ldb, c, ldc); break;
    case 6: dot_tile<MR, 6>(k, a, lda, b, ldb, c, ldc); break;
    case 7: dot_tile<MR, 7>(k, a, lda, b, ldb, c, ldc); break;
    case 8: dot_tile<MR, 8>(k, a, lda, b, ldb, c, ldc); break;
  }
}

}  // namespace

void run_abt(int m, int n, int k, const float* a, ptrdiff_t lda, const float* b, ptrdiff_t ldb, float* c,
             ptrdiff_t ldc) {
  // Column blocks of 8 rows of b outermost: those rows are read from memory once and stay in L1
  // while every row tile of a (L2-resident at these sizes) passes by.
  for (int j = 0; j < n; j += kTileCols) {
    const int cols = std::min(kTileCols, n - j);
    const float* bj = b + j * ldb;
    int i = 0;
    for (; i + kTileRows <= m; i += kTileRows) dot_tile_cols<kTileRows>(cols, k, a + i * lda, lda, bj, ldb, c + i * ldc + j, ldc);
    if (m - i == 2) dot_tile_cols<2>(cols, k, a + i * lda, lda, bj, ldb, c + i * ldc + j, ldc);
    if (m - i == 1) dot_tile_cols<1>(cols, k, a + i * lda, lda, bj, ldb, c + i * ldc + j, ldc);
  }
}

}  // namespace podlab::gemm_kernel

#else  // !__AVX512F__

namespace podlab::gemm_kernel {
void run_abt(int, int, int, const float*, ptrdiff_t, const float*, ptrdiff_t, float*, ptrdiff_t) {}
}  // namespace podlab::gemm_kernel

#endif
