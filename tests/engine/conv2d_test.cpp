// Conv2D tests: finite-difference gradients over SAME/VALID, strides, channels and odd sizes; forward
// values against hand-computed 3x3 cases; output shapes of the MNIST conv stack; and the im2col+GEMM
// path (forward and backward) against a naive direct convolution on random data.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "engine/layers/activation.h"
#include "engine/layers/conv2d.h"
#include "engine/layers/maxpool2d.h"
#include "tests/engine/gradcheck.h"

namespace podlab {
namespace {

// A layer declared into its own buffers: values from the seeded initialiser, gradients zeroed.
struct Bound {
  ParamLayout layout;
  std::vector<float> values, grads;
  explicit Bound(Layer& layer, uint64_t seed = 3) {
    layer.declare(layout);
    values.assign(layout.total(), 0.0f);
    grads.assign(layout.total(), 0.0f);
    layout.initialise(values.data(), seed);
    layer.bind(values.data(), grads.data());
  }
  float* var(const std::string& name) { return values.data() + layout[layout.find(name)].offset; }
  float* grad(const std::string& name) { return grads.data() + layout[layout.find(name)].offset; }
};

Matrix random_matrix(int rows, int cols, uint64_t seed) {
  Rng rng(seed);
  Matrix m(rows, cols);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-1.0f, 1.0f);
  return m;
}

// TensorFlow's leading padding, computed independently of the layer.
int pad_before(int in, int out, int k, int stride, Padding p) {
  return p == Padding::kSame ? std::max((out - 1) * stride + k - in, 0) / 2 : 0;
}

struct Config {
  int h, w, cin, filters, kernel, stride;
  Padding padding;
  int batch;
};

const Config kConfigs[] = {
    {5, 7, 1, 2, 3, 1, Padding::kSame, 2},  {5, 7, 3, 2, 3, 2, Padding::kSame, 3},
    {6, 5, 3, 4, 3, 1, Padding::kValid, 2}, {7, 5, 1, 3, 3, 2, Padding::kValid, 3},
    {5, 7, 3, 2, 5, 1, Padding::kSame, 2},  {4, 5, 2, 3, 2, 1, Padding::kSame, 2},  // even K: pad after
    {6, 6, 1, 2, 2, 2, Padding::kValid, 3}, {7, 7, 3, 2, 4, 3, Padding::kSame, 2},
    // K*Cin > 16: im2col's clipped-run path (the ones above take the zero-padded-image path) on builds
    // without AVX-512; AVX-512 builds read every config's im2col in place (Gemm::ab_segmented)
    {6, 7, 6, 3, 3, 1, Padding::kSame, 2},  {7, 6, 5, 2, 5, 2, Padding::kSame, 2},
    {6, 6, 8, 2, 3, 1, Padding::kValid, 2},
};

}  // namespace

TEST_CASE("Conv2D gradients match finite differences", "[layers]") {
  for (const Config& c : kConfigs) {
    Conv2D conv("conv", Shape{c.h, c.w, c.cin}, c.filters, c.kernel, c.stride, c.padding);
    INFO("in " << c.h << "x" << c.w << "x" << c.cin << " K" << c.kernel << " s" << c.stride
               << (c.padding == Padding::kSame ? " SAME" : " VALID") << " batch " << c.batch);
    const auto res = testing::gradient_check(conv, c.batch);
    CHECK(res.max_input_error < 2e-2);
    CHECK(res.max_param_error < 2e-2);
  }
}

TEST_CASE("Conv2D with fused ReLU: gradients match finite differences", "[layers]") {
  // ReLU has a kink at 0; a small step keeps the central differences off it for these seeds.
  for (const Config& c : {kConfigs[0], kConfigs[4], kConfigs[9]}) {
    Conv2D conv("conv", Shape{c.h, c.w, c.cin}, c.filters, c.kernel, c.stride, c.padding, /*relu=*/true);
    INFO("in " << c.h << "x" << c.w << "x" << c.cin << " K" << c.kernel << " s" << c.stride);
    const auto res = testing::gradient_check(conv, c.batch, 1, 1e-3f);
    CHECK(res.max_input_error < 2e-2);
    CHECK(res.max_param_error < 2e-2);
  }
}

TEST_CASE("Conv2D with fused ReLU equals Conv2D then ReLU, bit for bit", "[layers]") {
  const Shape in{9, 8, 3};
  Conv2D fused("c", in, 5, 3, 1, Padding::kSame, /*relu=*/true), plain("c", in, 5, 3);
  ActivationLayer relu("c", plain.output_shape(), Activation::kRelu);
  Bound bf(fused), bp(plain);
  const Matrix x = random_matrix(4, in.size(), 31);
  const Matrix dout = random_matrix(4, fused.output_shape().size(), 37);
  Matrix out_f, din_f, pre, out_p, dpre, din_p;
  fused.forward(x, out_f, true);
  fused.backward(x, out_f, dout, &din_f);
  plain.forward(x, pre, true);
  relu.forward(pre, out_p, true);
  relu.backward(pre, out_p, dout, &dpre);
  plain.backward(x, pre, dpre, &din_p);
  CHECK(out_f == out_p);
  CHECK(out_f.minCoeff() == 0.0f);  // some outputs were clipped
  CHECK(din_f == din_p);
  CHECK(bf.grads == bp.grads);

  ModelGraph g;
  fused.describe(g, "input");
  REQUIRE(g.ops.size() == 5);
  CHECK(g.ops[4].op == "Relu");
  CHECK(g.ops[4].name == "c/Relu");
  CHECK(fused.kind() == "Conv2D");
}

TEST_CASE("Conv2D forward matches hand-computed 3x3 cases", "[layers]") {
  // Image 1..9 row-major; kernel [[1,2],[3,4]]; bias 0.5.
  Matrix x(1, 9);
  for (int i = 0; i < 9; ++i) x(0, i) = static_cast<float>(i + 1);
  auto run = [&](int kernel, int stride, Padding padding, const std::vector<float>& w) {
    Conv2D conv("c", Shape{3, 3, 1}, 1, kernel, stride, padding);
    Bound b(conv);
    std::copy(w.begin(), w.end(), b.var("c/weights"));
    b.var("c/biases")[0] = 0.5f;
    Matrix out;
    conv.forward(x, out, false);
    return std::vector<float>(out.data(), out.data() + out.size());
  };
  using V = std::vector<float>;
  SECTION("2x2 VALID") {
    CHECK(run(2, 1, Padding::kValid, {1, 2, 3, 4}) == V{37.5f, 47.5f, 67.5f, 77.5f});
  }
  SECTION("2x2 SAME pads only bottom/right, as TensorFlow does") {
    CHECK(run(2, 1, Padding::kSame, {1, 2, 3, 4}) ==
          V{37.5f, 47.5f, 21.5f, 67.5f, 77.5f, 33.5f, 23.5f, 26.5f, 9.5f});
  }
  SECTION("2x2 SAME stride 2") {
    CHECK(run(2, 2, Padding::kSame, {1, 2, 3, 4}) == V{37.5f, 21.5f, 23.5f, 9.5f});
  }
  SECTION("3x3 box filter SAME pads one on every side") {
    CHECK(run(3, 1, Padding::kSame, V(9, 1.0f)) ==
          V{12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f});
  }
}

TEST_CASE("Conv2D output shapes and cost", "[layers]") {
  Conv2D c1("layer1", Shape{28, 28, 1}, 32, 5);
  CHECK(c1.output_shape() == Shape{28, 28, 32});
  MaxPool2D p1("pool1", c1.output_shape());
  CHECK(p1.output_shape() == Shape{14, 14, 32});
  Conv2D c2("layer2", p1.output_shape(), 64, 5);
  CHECK(c2.output_shape() == Shape{14, 14, 64});
  MaxPool2D p2("pool2", c2.output_shape());
  CHECK(p2.output_shape() == Shape{7, 7, 64});
  CHECK(c1.forward_flops() == 2ll * 28 * 28 * 32 * 5 * 5 * 1);

  CHECK(Conv2D("v", Shape{28, 28, 1}, 8, 5, 1, Padding::kValid).output_shape() == Shape{24, 24, 8});
  CHECK(Conv2D("s", Shape{28, 28, 1}, 8, 5, 2).output_shape() == Shape{14, 14, 8});
  CHECK(Conv2D("o", Shape{5, 7, 3}, 4, 3, 2).output_shape() == Shape{3, 4, 4});

  Bound b(c1);
  Matrix x = random_matrix(2, 28 * 28, 5), out;
  c1.forward(x, out, false);
  CHECK(out.rows() == 2);
  CHECK(out.cols() == 28 * 28 * 32);
}

TEST_CASE("Conv2D describes its ops with NHWC shapes", "[layers]") {
  Conv2D conv("layer1", Shape{28, 28, 1}, 32, 5);
  ModelGraph g;
  const std::string out = conv.describe(g, "input");
  REQUIRE(g.ops.size() == 4);
  CHECK(g.ops[0].op == "VariableV2");
  CHECK(g.ops[0].variable == "layer1/weights");
  CHECK(g.ops[0].shape == std::vector<int>{5, 5, 1, 32});
  CHECK(g.ops[1].variable == "layer1/biases");
  CHECK(g.ops[2].op == "Conv2D");
  CHECK(g.ops[2].inputs == std::vector<std::string>{"input", "layer1/weights"});
  CHECK(g.ops[3].op == "BiasAdd");
  CHECK(g.ops[3].shape == std::vector<int>{-1, 28, 28, 32});
  CHECK(out == "layer1/BiasAdd");
}

TEST_CASE("Conv2D im2col+GEMM equals a naive direct convolution", "[layers]") {
  for (const Config& c : kConfigs) {
    INFO("in " << c.h << "x" << c.w << "x" << c.cin << " K" << c.kernel << " s" << c.stride);
    Conv2D conv("c", Shape{c.h, c.w, c.cin}, c.filters, c.kernel, c.stride, c.padding);
    Bound b(conv, 11);
    Rng rng(13);
    for (float& v : b.values) v += 0.1f * rng.uniform(-1.0f, 1.0f);  // non-zero biases
    const Shape o = conv.output_shape();
    const int pt = pad_before(c.h, o.h, c.kernel, c.stride, c.padding);
    const int pl = pad_before(c.w, o.w, c.kernel, c.stride, c.padding);
    const float* w = b.var("c/weights");
    const float* bias = b.var("c/biases");
    const Matrix x = random_matrix(c.batch, c.h * c.w * c.cin, 17);
    const Matrix dout = random_matrix(c.batch, o.size(), 19);

    // Direct loops: out[n,oy,ox,f] = b[f] + sum in[n,iy,ix,ci] W[(ky*K+kx)*Cin+ci, f], and the
    // matching gradients.
    Matrix want_out = Matrix::Zero(c.batch, o.size()), want_din = Matrix::Zero(c.batch, x.cols());
    std::vector<float> want_dw(c.kernel * c.kernel * c.cin * c.filters, 0.0f);
    for (int n = 0; n < c.batch; ++n)
      for (int oy = 0; oy < o.h; ++oy)
        for (int ox = 0; ox < o.w; ++ox)
          for (int f = 0; f < c.filters; ++f) {
            const int oi = (oy * o.w + ox) * c.filters + f;
            double acc = bias[f];
            for (int ky = 0; ky < c.kernel; ++ky)
              for (int kx = 0; kx < c.kernel; ++kx)
                for (int ci = 0; ci < c.cin; ++ci) {
                  const int iy = oy * c.stride - pt + ky, ix = ox * c.stride - pl + kx;
                  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                  const int xi = (iy * c.w + ix) * c.cin + ci;
                  const int wi = ((ky * c.kernel + kx) * c.cin + ci) * c.filters + f;
                  acc += static_cast<double>(x(n, xi)) * w[wi];
                  want_din(n, xi) += dout(n, oi) * w[wi];
                  want_dw[wi] += dout(n, oi) * x(n, xi);
                }
            want_out(n, oi) = static_cast<float>(acc);
          }

    Matrix out, din;
    conv.forward(x, out, true);
    conv.backward(x, out, dout, &din);
    CHECK((out - want_out).cwiseAbs().maxCoeff() < 1e-4f);
    CHECK((din - want_din).cwiseAbs().maxCoeff() < 1e-4f);
    const float* dw = b.grad("c/weights");
    float worst_dw = 0;
    for (size_t i = 0; i < want_dw.size(); ++i) worst_dw = std::max(worst_dw, std::abs(dw[i] - want_dw[i]));
    CHECK(worst_dw < 1e-4f);
    const Vector want_db = dout.colwise().sum().reshaped<Eigen::RowMajor>(o.h * o.w, c.filters)
                               .colwise().sum();
    CHECK((ConstVectorMap(b.grad("c/biases"), c.filters) - want_db).cwiseAbs().maxCoeff() < 1e-4f);
  }
}

TEST_CASE("Conv2D backward adds into gradients and reuses buffers across steps", "[layers]") {
  Conv2D conv("c", Shape{5, 7, 3}, 4, 3, 2);
  Bound b(conv);
  const Matrix x = random_matrix(3, 5 * 7 * 3, 23);
  const Matrix dout = random_matrix(3, conv.output_shape().size(), 29);
  Matrix out, din;
  conv.forward(x, out, true);
  conv.backward(x, out, dout, &din);
  const std::vector<float> once = b.grads;
  const Matrix din_once = din;
  const float* out_data = out.data();
  const float* din_data = din.data();

  conv.forward(x, out, true);
  conv.backward(x, out, dout, &din);
  for (size_t i = 0; i < once.size(); ++i) REQUIRE(b.grads[i] == Approx(2 * once[i]).margin(1e-5));
  CHECK(din == din_once);  // din is overwritten, not accumulated
  CHECK(out.data() == out_data);  // same batch size: no reallocation
  CHECK(din.data() == din_data);

  conv.backward(x, out, dout, nullptr);  // first layer: parameters only
  CHECK(b.grads[0] == Approx(3 * once[0]).margin(1e-5));
}

}  // namespace podlab
