// FusedDense: gradient checks, and the same results as Dense followed by ActivationLayer.
#include <catch2/catch.hpp>

#include "engine/layers/activation.h"
#include "engine/layers/dense.h"
#include "engine/layers/fused_dense.h"
#include "engine/rng.h"
#include "tests/engine/gradcheck.h"

using namespace podlab;

namespace {

struct Run {
  Matrix out, din;
  std::vector<float> grads;
};

Matrix random_matrix(int rows, int cols, Rng& rng) {
  Matrix m(rows, cols);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-1.0f, 1.0f);
  return m;
}

}  // namespace

TEST_CASE("FusedDense gradients match finite differences", "[layers]") {
  for (Activation a : {Activation::kSigmoid, Activation::kTanh}) {
    FusedDense l("fc", Shape{1, 1, 7}, 5, a);
    CHECK(testing::gradient_check(l, 3).max_error() < 2e-2);
  }
  // ReLU has a kink at 0; a smaller step keeps the central differences off it for this seed.
  FusedDense relu("fc", Shape{2, 3, 2}, 9, Activation::kRelu, Init::kHeNormal);
  CHECK(testing::gradient_check(relu, 4, 3, 1e-3f).max_error() < 2e-2);
}

TEST_CASE("FusedDense equals Dense then the activation", "[layers]") {
  // Sizes past Gemm's small-product cut-off, so the blocked kernel is the one compared.
  const int batch = 37, n_in = 50, n_out = 29;
  for (Activation a : {Activation::kRelu, Activation::kSigmoid, Activation::kTanh}) {
    INFO(activation_name(a));
    FusedDense fused("fc", Shape{1, 1, n_in}, n_out, a);
    Dense dense("fc", Shape{1, 1, n_in}, n_out);
    ActivationLayer act("fc", Shape{1, 1, n_out}, a);
    ParamLayout lf, ld;
    fused.declare(lf);
    dense.declare(ld);
    REQUIRE(lf.total() == ld.total());
    REQUIRE(lf[0].name == ld[0].name);
    REQUIRE(lf[1].name == ld[1].name);
    std::vector<float> values(lf.total());
    lf.initialise(values.data(), 5);
    Rng rng(9);
    for (float& v : values) v += 0.1f * rng.uniform(-1.0f, 1.0f);
    const Matrix x = random_matrix(batch, n_in, rng), dout = random_matrix(batch, n_out, rng);

    Run f, u;
    f.grads.assign(lf.total(), 0.0f);
    u.grads.assign(lf.total(), 0.0f);
    fused.bind(values.data(), f.grads.data());
    dense.bind(values.data(), u.grads.data());
    fused.forward(x, f.out, true);
    fused.backward(x, f.out, dout, &f.din);
    Matrix z, dz;
    dense.forward(x, z, true);
    act.forward(z, u.out, true);
    act.backward(z, u.out, dout, &dz);
    dense.backward(x, z, dz, &u.din);

    // Bit for bit: the same operations on each element in the same order.
    CHECK(f.out == u.out);
    CHECK(f.din == u.din);
    CHECK(f.grads == u.grads);
  }
}

TEST_CASE("FusedDense describes itself as Dense plus the activation", "[layers]") {
  FusedDense l("layer1", Shape{1, 1, 4}, 3, Activation::kRelu);
  CHECK(l.kind() == "DenseRelu");
  CHECK(l.forward_flops() == 2 * 4 * 3 + 3);
  ModelGraph g;
  const std::string out = l.describe(g, "input");
  CHECK(out == "layer1/Relu");
  std::vector<std::string> names;
  for (const GraphOp& op : g.ops) names.push_back(op.name);
  CHECK(names == std::vector<std::string>{"layer1/weights", "layer1/biases", "layer1/MatMul", "layer1/add", "layer1/Relu"});
}
