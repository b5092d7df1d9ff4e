// The AVX-512 GEMM kernel: register tiles of up to 8 rows x 48 columns of c held in 24 zmm
// accumulators. Each step along k loads a row segment of b (3 vectors, the last one masked at the
// right edge) and broadcasts one element of a per tile row: 24 FMAs per 11 loads. b and a are read
// in place (b's rows are contiguous in a row-major weight matrix or gradient; a is broadcast one
// float at a time, so it may be read along rows or down columns), so unlike a classic BLAS nothing is
// packed; at the MLP's sizes the reused operands stay in L2. That, and the bias and ReLU applied while
// a tile is still in registers, is what it has over Eigen's GEMM here (about 160 vs 135-150 GFLOP/s
// for the MLP's products on one core of the AVX-512 build machine, whose FMA peak is ~175).
//
// Summation order: each output is sum_k a(i, k) b(k, j) accumulated in k order from zero by FMA,
// then the epilogue. It depends only on the shapes, never on threads or alignment.
#include "engine/layers/gemm_kernel.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace podlab::gemm_kernel {
namespace {

constexpr int kLanes = 16;
constexpr int kRowBlock = 128;  // rows of a kept hot while the column tiles sweep over b
// A b larger than this (bytes) is swept in blocks of rows spanning about kDepthBlockBytes, so that
// the rows a column tile walks down (one page apart for fc1's (3136, 1024) weights) stay within the
// TLB and L1 across its row tiles; unblocked, fc1's forward product ran at a third of the speed.
constexpr size_t kBlockDepthAbove = 1 << 20, kDepthBlockBytes = 256 << 10;

// One tile: MR rows x NV vectors of c; the last vector is masked by `mask`. GCC keeps acc in
// registers only if the small loops are fully unrolled before it allocates them, hence the pragmas.
// kSegmented: a's columns come in runs (`seg`); without it, `seg` is ignored and the k loop is the
// plain one (the segment loop around it cost the MLP's products 8% and inference 18%). The k loop is
// written out in both branches on purpose: one always_inline helper for both measured 3-15% slower.
template <int MR, int NV, bool kSegmented>
__attribute__((noinline)) void tile(int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, const Segments& seg,
                                    const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias,
                                    Epilogue epilogue, __mmask16 mask, bool load_c) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[i][v] = !load_c ? _mm512_setzero_ps()
                  : v == NV - 1 ? _mm512_maskz_loadu_ps(mask, c + i * ldc + v * kLanes)
                                : _mm512_loadu_ps(c + i * ldc + v * kLanes);
  if constexpr (kSegmented) {
    const float* a_seg = a;
    for (int k0 = 0; k0 < k; k0 += seg.len, a_seg += seg.stride) {
      const int k1 = std::min(k, k0 + seg.len);
      const float* b_seg = b + k0 * ldb;
      for (int kk = 0; kk < k1 - k0; ++kk) {
        const float* brow = b_seg + kk * ldb;
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(mask, brow + v * kLanes) : _mm512_loadu_ps(brow + v * kLanes);
        const float* acol = a_seg + kk * a_col;
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
          const __m512 ai = _mm512_set1_ps(acol[i * a_row]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
      }
    }
  } else {
    for (int kk = 0; kk < k; ++kk) {
      const float* brow = b + kk * ldb;
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(mask, brow + v * kLanes) : _mm512_loadu_ps(brow + v * kLanes);
      const float* acol = a + kk * a_col;
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(acol[i * a_row]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
  }
  __m512 bias_v[NV];
  if (epilogue == Epilogue::kBias || epilogue == Epilogue::kBiasRelu) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      bias_v[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(mask, bias + v * kLanes) : _mm512_loadu_ps(bias + v * kLanes);
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* out = c + i * ldc + v * kLanes;
      const bool last = v == NV - 1;
      __m512 r = acc[i][v];
      switch (epilogue) {
        case Epilogue::kStore: case Epilogue::kStream: break;
        case Epilogue::kAccumulate:
          r = _mm512_add_ps(last ? _mm512_maskz_loadu_ps(mask, out) : _mm512_loadu_ps(out), r);
          break;
        case Epilogue::kBias: r = _mm512_add_ps(r, bias_v[v]); break;
        case Epilogue::kBiasRelu: r = _mm512_max_ps(_mm512_add_ps(r, bias_v[v]), _mm512_setzero_ps()); break;
      }
      if (last && mask != 0xFFFF) _mm512_mask_storeu_ps(out, mask, r);
      else if (epilogue == Epilogue::kStream && (reinterpret_cast<uintptr_t>(out) & 63) == 0) _mm512_stream_ps(out, r);
      else _mm512_storeu_ps(out, r);
    }
  }
}

// `rows` rows of one tile (1..8), dispatched to the instantiation for that height.
template <int NV, bool kSeg>
void tile_rows(int rows, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, const Segments& seg, const float* b,
               ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias, Epilogue e, __mmask16 mask, bool load_c) {
  switch (rows) {
    case 1: tile<1, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 2: tile<2, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 3: tile<3, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 4: tile<4, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 5: tile<5, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 6: tile<6, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 7: if constexpr (NV < 4) tile<7, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
    case 8: if constexpr (NV < 4) tile<8, NV, kSeg>(k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, e, mask, load_c); break;
  }
}

// Rows [0, m) of one column tile of NV vectors, cut into the fewest tiles of at most kMr rows, of
// heights differing by at most one (50 rows: 6 x 7 + 8, not 6 x 8 + 2; a short tile has too few
// accumulators to keep both FMA units busy).
template <int NV, bool kSeg>
void column_tile(int m, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, const Segments& seg, const float* b,
                 ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias, Epilogue e, __mmask16 mask, bool load_c) {
  constexpr int kMr = NV == 4 ? 6 : 8;  // 24 accumulators, leaving registers for b and a
  const int tiles = (m + kMr - 1) / kMr, base = m / tiles, taller = m % tiles;
  for (int t = 0, i = 0; t < tiles; ++t) {
    const int rows = base + (t < taller ? 1 : 0);
    tile_rows<NV, kSeg>(rows, k, a + i * a_row, a_row, a_col, seg, b, ldb, c + i * ldc, ldc, bias, e, mask, load_c);
    i += rows;
  }
}

// run() and run_segmented(); kSeg as for tile().
template <bool kSeg>
void run_impl(int m, int n, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, Segments seg, const float* b,
              ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias, Epilogue epilogue, bool from_c) {
  const int vectors = (n + kLanes - 1) / kLanes;
  const int tail = n - (vectors - 1) * kLanes;  // 1..16 lanes in the last vector
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1u);
  // Blocks along k (see kBlockDepthAbove) where that cannot change the result: every block after the
  // first starts its accumulators from the partial sums the previous one left in c, so each output
  // sees the same chain of FMAs. Not for kAccumulate, whose c holds the value to add to.
  const size_t b_bytes = static_cast<size_t>(k) * static_cast<size_t>(ldb) * sizeof(float);
  const int depth_block = epilogue != Epilogue::kAccumulate && b_bytes > kBlockDepthAbove && seg.len >= k
                              ? std::max<int>(32, static_cast<int>(kDepthBlockBytes / (ldb * sizeof(float))))
                              : std::max(k, 1);
  for (int i0 = 0; i0 < m; i0 += kRowBlock) {
    const int rows = std::min(kRowBlock, m - i0);
    for (int k0 = 0; k0 < k || k0 == 0; k0 += depth_block) {
      const int depth = std::min(depth_block, k - k0);
      const bool first = k0 == 0 && !from_c, last = k0 + depth >= k;
      const Epilogue e = last ? epilogue : Epilogue::kStore;
      const float* ab = a + i0 * a_row + k0 * a_col;
      const float* bb = b + k0 * ldb;
      float* cb = c + i0 * ldc;
      // Column tiles of 3 vectors; when 4 remain, one tile of 4 (6 rows high) beats 3 + 1.
      for (int v = 0; v < vectors;) {
        const int left = vectors - v;
        const int nv = left == 4 ? 4 : std::min(3, left);
        const __mmask16 mask = v + nv == vectors ? tail_mask : static_cast<__mmask16>(0xFFFF);
        const float* bt = bb + v * kLanes;
        float* ct = cb + v * kLanes;
        const float* bias_t = bias ? bias + v * kLanes : nullptr;
        switch (nv) {
          case 1: column_tile<1, kSeg>(rows, depth, ab, a_row, a_col, seg, bt, ldb, ct, ldc, bias_t, e, mask, !first); break;
          case 2: column_tile<2, kSeg>(rows, depth, ab, a_row, a_col, seg, bt, ldb, ct, ldc, bias_t, e, mask, !first); break;
          case 3: column_tile<3, kSeg>(rows, depth, ab, a_row, a_col, seg, bt, ldb, ct, ldc, bias_t, e, mask, !first); break;
          case 4: column_tile<4, kSeg>(rows, depth, ab, a_row, a_col, seg, bt, ldb, ct, ldc, bias_t, e, mask, !first); break;
        }
        v += nv;
      }
      if (k == 0) break;
    }
  }
  if (epilogue == Epilogue::kStream) _mm_sfence();
}

}  // namespace

void run(int m, int n, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, const float* b, ptrdiff_t ldb,
         float* c, ptrdiff_t ldc, const float* bias, Epilogue epilogue) {
  run_impl<false>(m, n, k, a, a_row, a_col, Segments{std::max(k, 1), 0}, b, ldb, c, ldc, bias, epilogue, false);
}

void run_segmented(int m, int n, int k, const float* a, ptrdiff_t a_row, ptrdiff_t a_col, Segments seg,
                   const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc, const float* bias, Epilogue epilogue,
                   bool from_c) {
  run_impl<true>(m, n, k, a, a_row, a_col, seg, b, ldb, c, ldc, bias, epilogue, from_c);
}

}  // namespace podlab::gemm_kernel

#else  // !__AVX512F__

namespace podlab::gemm_kernel {
void run(int, int, int, const float*, ptrdiff_t, ptrdiff_t, const float*, ptrdiff_t, float*, ptrdiff_t, const float*,
         Epilogue) {}
void run_segmented(int, int, int, const float*, ptrdiff_t, ptrdiff_t, Segments, const float*, ptrdiff_t, float*,
                   ptrdiff_t, const float*, Epilogue, bool) {}
}  // namespace podlab::gemm_kernel

#endif
