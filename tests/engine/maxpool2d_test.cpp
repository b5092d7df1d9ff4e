// MaxPool2D tests: hand-computed forward and gradient routing on small images, SAME padding that
// never wins, first-maximum tie breaking, overlapping windows, and finite-difference gradients.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "engine/layers/maxpool2d.h"
#include "tests/engine/gradcheck.h"

namespace podlab {
namespace {

Matrix row(const std::vector<float>& v) {
  Matrix m(1, static_cast<int>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) m(0, static_cast<int>(i)) = v[i];
  return m;
}

std::vector<float> flat(const Matrix& m) { return std::vector<float>(m.data(), m.data() + m.size()); }

// Max pooling is only piecewise differentiable: a central difference across a near-tie measures the
// wrong piece. This test wrapper adds a fixed offset to each input coordinate, a random permutation
// of 0, 3, 6, ..., so the values in any window differ by at least 3 - 2 > 2*eps and the winner is
// random but stable under perturbation. The gradient scale stays 1 (d(in + offset)/d in = 1).
class SpacedMaxPool : public Layer {
 public:
  SpacedMaxPool(Shape in, int size, int stride, Padding padding)
      : Layer("pool", in), pool_("pool", in, size, stride, padding), offset_(in.size()) {
    std::vector<int> perm(in.size());
    std::iota(perm.begin(), perm.end(), 0);
    Rng rng(99);
    for (int i = in.size() - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    for (int i = 0; i < in.size(); ++i) offset_[i] = 3.0f * perm[i];
  }
  std::string kind() const override { return "SpacedMaxPool"; }
  Shape output_shape() const override { return pool_.output_shape(); }
  void forward(const Matrix& in, Matrix& out, bool training) override {
    shifted_ = in.rowwise() + offset_;
    pool_.forward(shifted_, out, training);
  }
  void backward(const Matrix&, const Matrix& out, const Matrix& dout, Matrix* din) override {
    pool_.backward(shifted_, out, dout, din);
  }

 private:
  MaxPool2D pool_;
  Vector offset_;
  Matrix shifted_;
};

}  // namespace

TEST_CASE("MaxPool2D 2x2 on a 4x4 image, forward and gradient routing", "[layers]") {
  MaxPool2D pool("pool", Shape{4, 4, 1});
  REQUIRE(pool.output_shape() == Shape{2, 2, 1});
  const Matrix x = row({1, 3, 2, 4,  //
                        5, 6, 7, 8,  //
                        9, 2, 1, 0,  //
                        3, 4, 5, 6});
  Matrix out, din;
  pool.forward(x, out, false);
  CHECK(flat(out) == std::vector<float>{6, 8, 9, 6});
  pool.backward(x, out, row({1, 2, 3, 4}), &din);
  CHECK(flat(din) == std::vector<float>{0, 0, 0, 0,  //
                                        0, 1, 0, 2,  //
                                        3, 0, 0, 0,  //
                                        0, 0, 0, 4});
  CHECK(pool.forward_flops() == 2 * 2 * 4);
}

TEST_CASE("MaxPool2D pools each channel separately", "[layers]") {
  MaxPool2D pool("pool", Shape{2, 2, 2});
  // NHWC: cells (0,0) (0,1) (1,0) (1,1), two channels each.
  const Matrix x = row({1, 8, 4, 5, 3, 6, 2, 7});
  Matrix out, din;
  pool.forward(x, out, false);
  CHECK(flat(out) == std::vector<float>{4, 8});
  pool.backward(x, out, row({10, 20}), &din);
  CHECK(flat(din) == std::vector<float>{0, 20, 10, 0, 0, 0, 0, 0});
}

TEST_CASE("MaxPool2D SAME padding never wins", "[layers]") {
  // 3x3 negative image, 2x2 windows, stride 2: Ho = 2, one padded row/column after (TensorFlow).
  MaxPool2D pool("pool", Shape{3, 3, 1});
  REQUIRE(pool.output_shape() == Shape{2, 2, 1});
  const Matrix x = row({-1, -2, -3, -4, -5, -6, -7, -8, -9});
  Matrix out, din;
  pool.forward(x, out, false);
  CHECK(flat(out) == std::vector<float>{-1, -3, -7, -9});
  pool.backward(x, out, row({1, 1, 1, 1}), &din);
  CHECK(flat(din) == std::vector<float>{1, 0, 1, 0, 0, 0, 1, 0, 1});
}

TEST_CASE("MaxPool2D routes ties to the first maximum and sums overlapping windows", "[layers]") {
  SECTION("ties") {
    MaxPool2D pool("pool", Shape{2, 4, 1});
    const Matrix x = row({5, 5, 2, 2, 5, 5, 2, 2});
    Matrix out, din;
    pool.forward(x, out, false);
    pool.backward(x, out, row({1, 2}), &din);
    CHECK(flat(din) == std::vector<float>{1, 0, 2, 0, 0, 0, 0, 0});
  }
  SECTION("overlap: 3x3 windows, stride 1, VALID") {
    MaxPool2D pool("pool", Shape{3, 4, 1}, 3, 1, Padding::kValid);
    REQUIRE(pool.output_shape() == Shape{1, 2, 1});
    const Matrix x = row({0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0});  // 9 is in both windows
    Matrix out, din;
    pool.forward(x, out, false);
    CHECK(flat(out) == std::vector<float>{9, 9});
    pool.backward(x, out, row({1.5f, 2.0f}), &din);
    CHECK(din(0, 5) == 3.5f);
    CHECK(din.sum() == 3.5f);
  }
}

TEST_CASE("MaxPool2D gradients match finite differences", "[layers]") {
  struct Config {
    Shape in;
    int size, stride;
    Padding padding;
    int batch;
  };
  const Config configs[] = {
      {{5, 7, 1}, 2, 2, Padding::kSame, 2},  {{5, 7, 3}, 2, 2, Padding::kSame, 3},
      {{5, 7, 3}, 3, 1, Padding::kSame, 2},  {{6, 5, 1}, 2, 2, Padding::kValid, 3},
      {{7, 5, 3}, 3, 2, Padding::kValid, 2}, {{4, 4, 2}, 3, 2, Padding::kSame, 3},
  };
  for (const Config& c : configs) {
    INFO("in " << c.in.h << "x" << c.in.w << "x" << c.in.c << " size " << c.size << " s" << c.stride);
    SpacedMaxPool pool(c.in, c.size, c.stride, c.padding);
    const auto res = testing::gradient_check(pool, c.batch, 1, 1e-2f, 200);
    CHECK(res.max_input_error < 2e-2);
  }
}

TEST_CASE("MaxPool2D shapes: MNIST conv stack", "[layers]") {
  CHECK(MaxPool2D("p", Shape{28, 28, 32}).output_shape() == Shape{14, 14, 32});
  CHECK(MaxPool2D("p", Shape{5, 7, 3}).output_shape() == Shape{3, 4, 3});
  CHECK(MaxPool2D("p", Shape{5, 7, 3}, 2, 2, Padding::kValid).output_shape() == Shape{2, 3, 3});
}

}  // namespace podlab
