// Conv2D forward and backward by im2col + GEMM (Chellapilla, Puri & Simard 2006).
//   im2col: cols (batch*Ho*Wo, K*K*Cin); row (n*Ho + oy)*Wo + ox, column (ky*K + kx)*Cin + ci holds
//           in[n, oy*s - pad_top + ky, ox*s - pad_left + kx, ci], or 0 where that cell is padding.
//   forward:  out viewed as (batch*Ho*Wo, F) = cols W + 1 b
//   backward: dW += cols^T dout;  db += 1^T dout;  dcols = dout W^T;  din = col2im(dcols)
// AVX-512 builds never build cols: each sample is copied into a zero-padded image, where the K*Cin
// columns of one kernel row of one cols row are one contiguous run, and the products read cols in
// place from there (Gemm::ab_segmented). That saves writing and re-reading cols (627 KB per sample
// and pass for conv2 of the MNIST CNN). Other builds process the batch in chunks of samples whose
// cols fit in L2; backward rebuilds each chunk's cols from `in` instead of keeping the batch's.
// The products go through Gemm (gemm.h: the AVX-512 register-tiled kernel where there is one, kept
// workspaces otherwise). dW += cols^T dout is added straight into the gradient (dW's layout is the
// weights'), and dcols is dout times an explicit copy of W^T, so the kernel reads b along rows.
// `out` (batch, Ho*Wo*F) row-major is already the (batch*Ho*Wo, F) matrix, so a chunk of samples is
// one product with the chunk's samples folded into its rows.
#include "engine/layers/conv2d.h"

#include <algorithm>
#include <cassert>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace podlab {
namespace {

// Output size and leading padding of one spatial dimension, by TensorFlow's rules: SAME pads
// pad_total = max((out-1)*stride + k - in, 0) cells, pad_total/2 before and the rest after.
void output_size(int in, int k, int stride, Padding padding, int* out, int* pad_before) {
  if (padding == Padding::kSame) {
    *out = (in + stride - 1) / stride;
    *pad_before = std::max((*out - 1) * stride + k - in, 0) / 2;
  } else {
    assert(in >= k && "VALID convolution needs the kernel to fit in the input");
    *out = (in - k) / stride + 1;
    *pad_before = 0;
  }
}

struct Geometry {
  int h, w, c;      // input sample
  int k, stride;
  int ho, wo;       // output spatial size
  int pad_top, pad_left;
  int row_len() const { return k * k * c; }
  int hp() const { return (ho - 1) * stride + k; }  // rows and columns of the padded image
  int wp() const { return (wo - 1) * stride + k; }
};

// Valid kernel columns [lo, hi) for an output column whose window starts at input column x0.
inline void kx_range(const Geometry& g, int x0, int* lo, int* hi) {
  *lo = std::max(0, -x0);
  *hi = std::min(g.k, g.w - x0);
}

// Copies / zeroes n floats with inline vector moves (a masked one for the tail): the runs are short
// (K*C = 5 floats for conv1 of the MNIST CNN, 160 for conv2), so a libc call per run costs more
// than the copy.
inline void copy_run(const float* src, int n, float* dst) {
#if defined(__AVX512F__)
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_loadu_ps(src + i));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
#else
  std::copy(src, src + n, dst);
#endif
}

inline void zero_run(float* dst, int n) {
#if defined(__AVX512F__)
  int i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_setzero_ps());
  if (i < n) _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1), _mm512_setzero_ps());
#else
  std::fill(dst, dst + n, 0.0f);
#endif
}

// in (batch, H*W*C) -> cols (batch*Ho*Wo, K*K*C), for long runs (K*C > 16). In NHWC, the K cells
// of one kernel row are one contiguous run of K*C floats, so each (output position, ky) is a single
// clipped copy.
void im2col_clipped(const Geometry& g, const float* in, int batch, float* cols) {
  const int kc = g.k * g.c;
  const size_t in_len = static_cast<size_t>(g.h) * g.w * g.c;
  float* row = cols;
  for (int n = 0; n < batch; ++n) {
    const float* img = in + n * in_len;
    for (int oy = 0; oy < g.ho; ++oy) {
      for (int ox = 0; ox < g.wo; ++ox, row += g.row_len()) {
        const int x0 = ox * g.stride - g.pad_left;
        int lo, hi;
        kx_range(g, x0, &lo, &hi);
        for (int ky = 0; ky < g.k; ++ky) {
          float* dst = row + ky * kc;
          const int iy = oy * g.stride - g.pad_top + ky;
          if (iy < 0 || iy >= g.h || lo >= hi) {
            zero_run(dst, kc);
            continue;
          }
          const float* src = img + (static_cast<size_t>(iy) * g.w + x0 + lo) * g.c;
          if (lo == 0 && hi == g.k) {
            copy_run(src, kc, dst);
            continue;
          }
          zero_run(dst, lo * g.c);
          copy_run(src, (hi - lo) * g.c, dst + lo * g.c);
          zero_run(dst + hi * g.c, kc - hi * g.c);
        }
      }
    }
  }
}

// Copies one sample `img` (H, W, C) into the zero-padded image `padded` of hp() x wp() cells: the
// cells every window reads, padding included, so that each (output position, ky) reads one
// unclipped run of K*C floats.
void pad_sample(const Geometry& g, const float* img, std::vector<float>& padded) {
  const int hp = g.hp(), wp = g.wp();
  const size_t prow = static_cast<size_t>(wp) * g.c;
  padded.resize(static_cast<size_t>(hp) * prow);  // no reallocation once the shape is stable
  // Valid padded columns [lo, hi): input column px - pad_left in [0, w).
  const int lo = std::min(std::max(0, g.pad_left), wp), hi = std::max(lo, std::min(wp, g.w + g.pad_left));
  for (int py = 0; py < hp; ++py) {
    float* dst = padded.data() + py * prow;
    const int iy = py - g.pad_top;
    if (iy < 0 || iy >= g.h || lo >= hi) {
      zero_run(dst, static_cast<int>(prow));
      continue;
    }
    zero_run(dst, lo * g.c);
    copy_run(img + (static_cast<size_t>(iy) * g.w + lo - g.pad_left) * g.c, (hi - lo) * g.c, dst + lo * g.c);
    zero_run(dst + hi * g.c, static_cast<int>(prow) - hi * g.c);
  }
}

// The same for short runs (K*C <= 16, conv1 of the MNIST CNN), where the clipping logic per
// position would cost more than the copy: each sample is padded first (pad_sample), so each
// (output position, ky) is one unclipped run, with no bounds checks per position.
void im2col_padded(const Geometry& g, const float* in, int batch, float* cols, std::vector<float>& padded) {
  const int kc = g.k * g.c;
  const size_t in_len = static_cast<size_t>(g.h) * g.w * g.c, prow = static_cast<size_t>(g.wp()) * g.c;
  float* row = cols;
  for (int n = 0; n < batch; ++n) {
    pad_sample(g, in + n * in_len, padded);
    for (int oy = 0; oy < g.ho; ++oy) {
      const float* src_row = padded.data() + static_cast<size_t>(oy) * g.stride * prow;
      for (int ox = 0; ox < g.wo; ++ox, row += g.row_len()) {
        const float* src = src_row + static_cast<size_t>(ox) * g.stride * g.c;
        for (int ky = 0; ky < g.k; ++ky) copy_run(src + ky * prow, kc, row + ky * kc);
      }
    }
  }
}

void im2col(const Geometry& g, const float* in, int batch, float* cols, std::vector<float>& padded) {
  if (g.k * g.c <= 16) {
    im2col_padded(g, in, batch, cols, padded);
  } else {
    im2col_clipped(g, in, batch, cols);
  }
}

// The adjoint of im2col: adds every cols entry back into the input cell it was copied from.
// din must be zeroed by the caller; overlapping windows accumulate.
void col2im(const Geometry& g, const float* cols, int batch, float* din) {
  const int kc = g.k * g.c;
  const size_t in_len = static_cast<size_t>(g.h) * g.w * g.c;
  const float* row = cols;
  for (int n = 0; n < batch; ++n) {
    float* img = din + n * in_len;
    for (int oy = 0; oy < g.ho; ++oy) {
      for (int ox = 0; ox < g.wo; ++ox, row += g.row_len()) {
        const int x0 = ox * g.stride - g.pad_left;
        int lo, hi;
        kx_range(g, x0, &lo, &hi);
        for (int ky = 0; ky < g.k; ++ky) {
          const int iy = oy * g.stride - g.pad_top + ky;
          if (iy < 0 || iy >= g.h) continue;
          const float* src = row + ky * kc + lo * g.c;
          float* dst = img + (static_cast<size_t>(iy) * g.w + x0 + lo) * g.c;
          for (int i = 0, n_cells = (hi - lo) * g.c; i < n_cells; ++i) dst[i] += src[i];
        }
      }
    }
  }
}

}  // namespace

Conv2D::Conv2D(std::string scope, Shape in, int filters, int kernel, int stride, Padding padding, bool relu)
    : Layer(std::move(scope), in), filters_(filters), kernel_(kernel), stride_(stride), padding_(padding), relu_(relu) {
  assert(filters > 0 && kernel > 0 && stride > 0);
  out_.c = filters;
  output_size(in.h, kernel, stride, padding, &out_.h, &pad_top_);
  output_size(in.w, kernel, stride, padding, &out_.w, &pad_left_);
}

void Conv2D::declare(ParamLayout& layout) {
  const int fan_in = kernel_ * kernel_ * in_.c;
  w_offset_ = layout[layout.add(scope_ + "/weights", fan_in, filters_, Init::kHeNormal, fan_in,
                                kernel_ * kernel_ * filters_)].offset;
  b_offset_ = layout[layout.add(scope_ + "/biases", 1, filters_, Init::kZeros)].offset;
}

void Conv2D::bind(const float* values, float* grads) {
  w_ = values + w_offset_;
  b_ = values + b_offset_;
  dw_ = grads ? grads + w_offset_ : nullptr;
  db_ = grads ? grads + b_offset_ : nullptr;
}

// Samples per im2col chunk: as many as keep the chunk's cols within about 512 KB (L2-resident while
// the GEMM sweeps it), at least one.
int Conv2D::chunk_samples() const {
  const int per_sample = out_.h * out_.w * kernel_ * kernel_ * in_.c;
  return std::max(1, (128 * 1024) / per_sample);
}

// Bytes of W one block of the forward product keeps in L1 (see forward).
constexpr int kWeightBlockBytes = 48 * 1024;
// Bytes of dL/dout one block of the weight-gradient product keeps in L1 (see backward): 4 output
// rows of conv2 (14 KB); 24 KB and the whole 50 KB measured slower.
constexpr int kGradBlockBytes = 16384;

bool Conv2D::implicit_im2col() const { return Gemm::segmented_available(); }

void Conv2D::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  assert(in.cols() == in_.size());
  const int batch = static_cast<int>(in.rows());
  const int per = out_.h * out_.w, row_len = kernel_ * kernel_ * in_.c;
  const Geometry g{in_.h, in_.w, in_.c, kernel_, stride_, out_.h, out_.w, pad_top_, pad_left_};
  out.resize(batch, out_.size());
  if (implicit_im2col()) {
    // Per sample, one product per output row: its Wo positions are rows of a at a stride of s*C
    // floats in the padded image, and kernel row ky's K*C columns start ky padded rows further down.
    // k is cut into blocks of whole kernel rows, each swept over every output row before the next,
    // so that its rows of W stay in L1 (one kernel row, 40 KB, for conv2, against 200 KB for all of
    // W; smaller cuts measured slower; all of conv1's 3 KB at once). The partial sums wait in `out`,
    // so each output sees one FMA chain in k order, as with a materialised im2col.
    const ptrdiff_t prow = static_cast<ptrdiff_t>(g.wp()) * g.c;
    const int kc = g.k * g.c;
    const int per_block = std::max(1, kWeightBlockBytes / (kc * filters_ * static_cast<int>(sizeof(float))));
    for (int n = 0; n < batch; ++n) {
      pad_sample(g, in.data() + static_cast<size_t>(n) * in_.size(), padded_);
      float* o = out.data() + static_cast<size_t>(n) * out_.size();
      for (int ky = 0; ky < g.k; ky += per_block) {
        const int rows = std::min(per_block, g.k - ky);
        const bool first = ky == 0, last = ky + rows == g.k;
        const Gemm::Chain chain = first && last ? Gemm::Chain::kWhole
                                  : first       ? Gemm::Chain::kFirst
                                  : last        ? Gemm::Chain::kLast
                                                : Gemm::Chain::kMore;
        for (int oy = 0; oy < g.ho; ++oy)
          gemm_.ab_segmented(padded_.data() + (oy * g.stride + ky) * prow, g.stride * g.c, 1, kc, prow,
                             w_ + static_cast<size_t>(ky) * kc * filters_, o + static_cast<size_t>(oy) * g.wo * filters_,
                             g.wo, filters_, rows * kc, chain, b_, relu_);
      }
    }
    return;
  }
  const int chunk = std::min(batch, chunk_samples());
  cols_.resize(static_cast<Eigen::Index>(chunk) * per, row_len);  // free when the batch size is unchanged
  for (int n0 = 0; n0 < batch; n0 += chunk) {
    const int nb = std::min(chunk, batch - n0);
    im2col(g, in.data() + static_cast<size_t>(n0) * in_.size(), nb, cols_.data(), padded_);
    gemm_.ab(cols_.data(), w_, out.data() + static_cast<size_t>(n0) * out_.size(), nb * per, filters_, row_len, b_,
             relu_);
  }
}

void Conv2D::backward(const Matrix& in, const Matrix& out, const Matrix& dout_in, Matrix* din) {
  assert(dw_ && db_ && "backward needs a gradient buffer from bind()");
  const int batch = static_cast<int>(dout_in.rows()), f = filters_;
  const int per = out_.h * out_.w, row_len = kernel_ * kernel_ * in_.c;
  assert(in.rows() == batch && in.cols() == in_.size());
  const Geometry g{in_.h, in_.w, in_.c, kernel_, stride_, out_.h, out_.w, pad_top_, pad_left_};
  const bool implicit = implicit_im2col();
  const int chunk = std::min(batch, chunk_samples());
  if (!implicit) cols_.resize(static_cast<Eigen::Index>(chunk) * per, row_len);
  if (relu_) dpre_.resize(chunk, out_.size());
  // The bias gradient is summed into an aligned scratch: Eigen's reduction order depends on the
  // destination's alignment, and `db` may be a view into any buffer; this keeps runs bit-for-bit
  // reproducible. Rows are summed sample by sample (a partial sum per sample, then the partials in
  // sample order): a fixed order set by the shapes alone, vectorised across the filters.
  dbias_.setZero(f);
  dbias_part_.resize(f);
  // din without dcols and col2im where the stride is 1 (see input_gradient_implicit).
  const bool din_implicit = din && implicit && stride_ == 1;
  if (din) din->resize(batch, in_.size());
  if (din_implicit) {
    // w_flip_ (K*K*F, Cin): row (u*K + v)*F + f, column ci holds W[K-1-u, K-1-v, ci, f].
    const int k = kernel_, c = in_.c;
    wflip_.resize(static_cast<Eigen::Index>(k) * k * f, c);
    for (int u = 0; u < k; ++u)
      for (int v = 0; v < k; ++v) {
        const float* src = w_ + static_cast<size_t>((k - 1 - u) * k + (k - 1 - v)) * c * f;  // (Cin, F) block
        float* dst = wflip_.data() + static_cast<size_t>(u * k + v) * f * c;                // (F, Cin) block
        for (int ci = 0; ci < c; ++ci)
          for (int j = 0; j < f; ++j) dst[j * c + ci] = src[ci * f + j];
      }
    const int dh = out_.h + 2 * (k - 1), dw = out_.w + 2 * (k - 1);
    const size_t dsize = static_cast<size_t>(dh) * dw * f;
    if (dpadded_.size() != dsize) dpadded_.assign(dsize, 0.0f);  // the border stays zero from here on
  } else if (din) {
    wt_.resize(filters_, row_len);
    wt_ = ConstMatrixMap(w_, row_len, filters_).transpose();
    dcols_.resize(static_cast<Eigen::Index>(chunk) * per, row_len);
    din->setZero();
  }
  // Chunk by chunk, so that the chunk's dL/d(conv + b), cols and dcols stay in L2: with relu, mask
  // dout by [out > 0] (in the pass that sums the bias gradient); im2col again (cheaper than keeping
  // the whole batch's cols from forward and reading them back from memory); dW += cols_c^T d_c, one
  // product over the chunk's rows straight into the gradient (dW's layout is the weights'); and
  // din_c = col2im(d_c W^T).
  for (int n0 = 0; n0 < batch; n0 += chunk) {
    const int nb = std::min(chunk, batch - n0);
    const size_t at = static_cast<size_t>(n0) * out_.size();
    const float* d_c = relu_ ? dpre_.data() : dout_in.data() + at;
    float* total = dbias_.data();
    float* part = dbias_part_.data();
    for (int i = 0; i < nb; ++i) {
      const size_t off = static_cast<size_t>(i) * out_.size();
      const float* d = dout_in.data() + at + off;
      std::fill(part, part + f, 0.0f);
      if (relu_) {
        const float* y = out.data() + at + off;
        float* m = dpre_.data() + off;
        for (int p = 0; p < per; ++p, d += f, y += f, m += f)
          for (int j = 0; j < f; ++j) {
            const float v = y[j] > 0.0f ? d[j] : 0.0f;
            m[j] = v;
            part[j] += v;
          }
      } else {
        for (int p = 0; p < per; ++p, d += f)
          for (int j = 0; j < f; ++j) part[j] += d[j];
      }
      for (int j = 0; j < f; ++j) total[j] += part[j];
    }
    if (implicit) {
      // Sample by sample and kernel row by kernel row: dW rows ky*K*C.. += cols^T d, where row i of
      // cols^T is column i of that kernel row's runs, and the positions run along the output row at
      // s*C floats, then s padded rows down.
      const ptrdiff_t prow = static_cast<ptrdiff_t>(g.wp()) * g.c;
      const int kc = g.k * g.c;
      const int rows_per_block = std::max(1, kGradBlockBytes / (g.wo * f * static_cast<int>(sizeof(float))));
      for (int i = 0; i < nb; ++i) {
        pad_sample(g, in.data() + static_cast<size_t>(n0 + i) * in_.size(), padded_);
        const float* d = d_c + static_cast<size_t>(i) * out_.size();
        for (int oy0 = 0; oy0 < g.ho; oy0 += rows_per_block) {
          const int rows = std::min(rows_per_block, g.ho - oy0);
          for (int ky = 0; ky < g.k; ++ky)
            gemm_.ab_segmented(padded_.data() + (oy0 * g.stride + ky) * prow, 1, g.stride * g.c, g.wo,
                               g.stride * prow, d + static_cast<size_t>(oy0) * g.wo * f,
                               dw_ + static_cast<size_t>(ky) * kc * f, kc, f, rows * g.wo, Gemm::Chain::kAdd);
        }
      }
    } else {
      im2col(g, in.data() + static_cast<size_t>(n0) * in_.size(), nb, cols_.data(), padded_);
      gemm_.atb_add(cols_.data(), d_c, dw_, row_len, f, nb * per);
    }
    if (din_implicit) {
      for (int i = 0; i < nb; ++i)
        input_gradient_implicit(d_c + static_cast<size_t>(i) * out_.size(),
                                din->data() + static_cast<size_t>(n0 + i) * in_.size());
    } else if (din) {
      gemm_.ab(d_c, wt_.data(), dcols_.data(), nb * per, row_len, f);
      col2im(g, dcols_.data(), nb, din->data() + static_cast<size_t>(n0) * in_.size());
    }
  }
  VectorMap db(db_, filters_);
  db += dbias_;
}

// One sample's din (H, W, Cin) from its d = dL/d(conv + b) (Ho, Wo, F), for stride 1, as a
// convolution of d zero-padded by K-1 cells on every side (dpadded_) with the flipped, transposed
// weights: din[iy, ix, ci] = sum over u, v, f of dd[iy + pad_top + u, ix + pad_left + v, f]
// W[K-1-u, K-1-v, ci, f]. The same in-place im2col product as forward (runs of K*F floats, one per
// u), cut by u so each block of wflip_ stays in L1; the first block writes din, so it needs no
// zeroing, and there is no dcols to write and add back.
void Conv2D::input_gradient_implicit(const float* d, float* din) {
  const int k = kernel_, f = filters_, c = in_.c;
  const ptrdiff_t drow = static_cast<ptrdiff_t>(out_.w + 2 * (k - 1)) * f;
  for (int oy = 0; oy < out_.h; ++oy)
    std::copy(d + static_cast<size_t>(oy) * out_.w * f, d + static_cast<size_t>(oy + 1) * out_.w * f,
              dpadded_.data() + (oy + k - 1) * drow + (k - 1) * f);
  const int kf = k * f;
  for (int u = 0; u < k; ++u) {
    const Gemm::Chain chain = k == 1       ? Gemm::Chain::kWhole
                              : u == 0     ? Gemm::Chain::kFirst
                              : u == k - 1 ? Gemm::Chain::kLast
                                           : Gemm::Chain::kMore;
    for (int iy = 0; iy < in_.h; ++iy)
      gemm_.ab_segmented(dpadded_.data() + (iy + pad_top_ + u) * drow + pad_left_ * f, f, 1, kf, 0,
                         wflip_.data() + static_cast<size_t>(u) * kf * c, din + static_cast<size_t>(iy) * in_.w * c,
                         in_.w, c, kf, chain);
  }
}

int64_t Conv2D::forward_flops() const {
  // With relu, one more per output, as the separate ReLU layer counted.
  return 2ll * out_.h * out_.w * filters_ * kernel_ * kernel_ * in_.c + (relu_ ? out_.size() : 0);
}

std::string Conv2D::describe(ModelGraph& g, const std::string& input) const {
  // TensorFlow's filter layout [K, K, Cin, F] is exactly our (K*K*Cin, F) row-major weights.
  const std::string w = g.add(scope_ + "/weights", "VariableV2", {}, {kernel_, kernel_, in_.c, filters_},
                              scope_ + "/weights");
  const std::string b = g.add(scope_ + "/biases", "VariableV2", {}, {filters_}, scope_ + "/biases");
  const std::string conv = g.add(scope_ + "/Conv2D", "Conv2D", {input, w}, batch_shape(out_));
  const std::string biased = g.add(scope_ + "/BiasAdd", "BiasAdd", {conv, b}, batch_shape(out_));
  return relu_ ? g.add(scope_ + "/Relu", "Relu", {biased}, batch_shape(out_)) : biased;
}

}  // namespace podlab
