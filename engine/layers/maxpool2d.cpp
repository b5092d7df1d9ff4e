// MaxPool2D forward and backward.
//   forward:  out[n, oy, ox, c] = max over the window's in-range cells of in[n, iy, ix, c];
//             argmax_ remembers which input cell (index into the sample's row) won.
//   backward: din = 0, then din[n, argmax] += dout[n, o] for every output o (windows may overlap
//             when stride < size, so this is a scatter-add).
// Padded cells are simply skipped, so they never win; under SAME padding every window still holds
// at least one real cell (pad_total <= size - 1, so neither side pads a whole window).
#include "engine/layers/maxpool2d.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace podlab {
namespace {

// Output size and leading padding of one dimension; the same rules as Conv2D (TensorFlow's).
void pool_output_size(int in, int k, int stride, Padding padding, int* out, int* pad_before) {
  if (padding == Padding::kSame) {
    *out = (in + stride - 1) / stride;
    *pad_before = std::max((*out - 1) * stride + k - in, 0) / 2;
  } else {
    assert(in >= k && "VALID pooling needs the window to fit in the input");
    *out = (in - k) / stride + 1;
    *pad_before = 0;
  }
}

}  // namespace

MaxPool2D::MaxPool2D(std::string scope, Shape in, int size, int stride, Padding padding)
    : Layer(std::move(scope), in), size_(size), stride_(stride), padding_(padding) {
  assert(size > 0 && stride > 0);
  out_.c = in.c;
  pool_output_size(in.h, size, stride, padding, &out_.h, &pad_top_);
  pool_output_size(in.w, size, stride, padding, &out_.w, &pad_left_);
}

void MaxPool2D::forward(const Matrix& in, Matrix& out, bool /*training*/) {
  assert(in.cols() == in_.size());
  const int batch = static_cast<int>(in.rows()), c = in_.c;
  const int n_out = out_.size();
  out.resize(batch, n_out);
  argmax_.resize(static_cast<size_t>(batch) * n_out);  // no reallocation at a stable batch size
  if (tiled()) {
    forward_tiled(in, out);
    return;
  }
  for (int n = 0; n < batch; ++n) {
    const float* x = in.data() + static_cast<size_t>(n) * in_.size();
    float* y = out.data() + static_cast<size_t>(n) * n_out;
    int* arg = argmax_.data() + static_cast<size_t>(n) * n_out;
    for (int oy = 0; oy < out_.h; ++oy) {
      const int y0 = oy * stride_ - pad_top_;
      const int ky_lo = std::max(0, -y0), ky_hi = std::min(size_, in_.h - y0);
      for (int ox = 0; ox < out_.w; ++ox) {
        const int x0 = ox * stride_ - pad_left_;
        const int kx_lo = std::max(0, -x0), kx_hi = std::min(size_, in_.w - x0);
        assert(ky_lo < ky_hi && kx_lo < kx_hi);
        float* best = y + (oy * out_.w + ox) * c;
        int* best_at = arg + (oy * out_.w + ox) * c;
        std::fill(best, best + c, -std::numeric_limits<float>::infinity());
        std::fill(best_at, best_at + c, -1);
        // Row-major window order with a strict '>' keeps the first maximum on ties.
        for (int ky = ky_lo; ky < ky_hi; ++ky) {
          for (int kx = kx_lo; kx < kx_hi; ++kx) {
            const int base = ((y0 + ky) * in_.w + (x0 + kx)) * c;
            for (int ch = 0; ch < c; ++ch) {
              if (x[base + ch] > best[ch] || best_at[ch] < 0) {
                best[ch] = x[base + ch];
                best_at[ch] = base + ch;
              }
            }
          }
        }
      }
    }
  }
}

void MaxPool2D::backward(const Matrix& /*in*/, const Matrix& /*out*/, const Matrix& dout, Matrix* din) {
  if (!din) return;
  const int batch = static_cast<int>(dout.rows()), n_out = out_.size();
  assert(argmax_.size() == static_cast<size_t>(batch) * n_out && "backward must follow forward");
  din->resize(batch, in_.size());
  if (tiled()) {
    backward_tiled(dout, *din);
    return;
  }
  din->setZero();
  for (int n = 0; n < batch; ++n) {
    const float* g = dout.data() + static_cast<size_t>(n) * n_out;
    const int* arg = argmax_.data() + static_cast<size_t>(n) * n_out;
    float* dx = din->data() + static_cast<size_t>(n) * in_.size();
    for (int o = 0; o < n_out; ++o) dx[arg[o]] += g[o];
  }
}

bool MaxPool2D::tiled() const {
  return size_ == 2 && stride_ == 2 && pad_top_ == 0 && pad_left_ == 0 && out_.h * 2 == in_.h &&
         out_.w * 2 == in_.w;
}

// 2x2 windows, step 2, exactly tiling the image: every input cell is in one window. Same order and
// tie rule as the general loop (the top-left cell first, then strict '>'), written branch-free over
// the channels so the compiler vectorises it.
void MaxPool2D::forward_tiled(const Matrix& in, Matrix& out) {
  const int batch = static_cast<int>(in.rows()), c = in_.c, row = in_.w * c;
  for (int n = 0; n < batch; ++n) {
    const float* x = in.data() + static_cast<size_t>(n) * in_.size();
    float* y = out.data() + static_cast<size_t>(n) * out_.size();
    int* arg = argmax_.data() + static_cast<size_t>(n) * out_.size();
    for (int oy = 0; oy < out_.h; ++oy) {
      for (int ox = 0; ox < out_.w; ++ox, y += c, arg += c) {
        const int b0 = (2 * oy * in_.w + 2 * ox) * c, b1 = b0 + c, b2 = b0 + row, b3 = b2 + c;
        const float* x0 = x + b0;
        const float* x1 = x + b1;
        const float* x2 = x + b2;
        const float* x3 = x + b3;
        for (int ch = 0; ch < c; ++ch) {
          float best = x0[ch];
          int at = b0 + ch;
          if (x1[ch] > best) best = x1[ch], at = b1 + ch;
          if (x2[ch] > best) best = x2[ch], at = b2 + ch;
          if (x3[ch] > best) best = x3[ch], at = b3 + ch;
          y[ch] = best;
          arg[ch] = at;
        }
      }
    }
  }
}

// Windows do not overlap and cover the image, so each input cell is written once: the gradient
// where it won, else 0 (no zero fill and scatter).
void MaxPool2D::backward_tiled(const Matrix& dout, Matrix& din) {
  const int batch = static_cast<int>(dout.rows()), c = in_.c, row = in_.w * c;
  for (int n = 0; n < batch; ++n) {
    const float* g = dout.data() + static_cast<size_t>(n) * out_.size();
    const int* arg = argmax_.data() + static_cast<size_t>(n) * out_.size();
    float* dx = din.data() + static_cast<size_t>(n) * in_.size();
    for (int oy = 0; oy < out_.h; ++oy) {
      for (int ox = 0; ox < out_.w; ++ox, g += c, arg += c) {
        const int b0 = (2 * oy * in_.w + 2 * ox) * c, b1 = b0 + c, b2 = b0 + row, b3 = b2 + c;
        for (int ch = 0; ch < c; ++ch) {
          const int a = arg[ch];
          dx[b0 + ch] = a == b0 + ch ? g[ch] : 0.0f;
          dx[b1 + ch] = a == b1 + ch ? g[ch] : 0.0f;
          dx[b2 + ch] = a == b2 + ch ? g[ch] : 0.0f;
          dx[b3 + ch] = a == b3 + ch ? g[ch] : 0.0f;
        }
      }
    }
  }
}

int64_t MaxPool2D::forward_flops() const {
  // One comparison per window cell and output, as TensorFlow's profiler counts pooling.
  return static_cast<int64_t>(out_.size()) * size_ * size_;
}

}  // namespace podlab
