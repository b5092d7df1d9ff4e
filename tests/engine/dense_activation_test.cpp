// Dense and activation layers: gradient checks and hand-computed forward values.
#include <catch2/catch.hpp>

#include "engine/layers/activation.h"
#include "engine/layers/dense.h"
#include "tests/engine/gradcheck.h"

using namespace podlab;

TEST_CASE("Dense gradients match finite differences", "[layers]") {
  Dense d("fc", Shape{1, 1, 7}, 5);
  CHECK(testing::gradient_check(d, 3).max_error() < 2e-2);
  Dense wide("fc", Shape{2, 3, 2}, 9, Init::kHeNormal);  // image input is flattened by shape
  CHECK(testing::gradient_check(wide, 4, 3).max_error() < 2e-2);
}

TEST_CASE("Dense forward is x W + b", "[layers]") {
  Dense d("fc", Shape{1, 1, 2}, 3);
  ParamLayout layout;
  d.declare(layout);
  REQUIRE(layout.parameter_count() == 2 * 3 + 3);
  REQUIRE(layout[0].name == "fc/weights");
  REQUIRE(layout[1].name == "fc/biases");
  // W = [[1 2 3] [4 5 6]], b = [0.5 -1 2]
  std::vector<float> v(layout.total(), 0.0f);
  const float w[] = {1, 2, 3, 4, 5, 6}, b[] = {0.5f, -1, 2};
  std::copy(w, w + 6, v.begin() + layout[0].offset);
  std::copy(b, b + 3, v.begin() + layout[1].offset);
  d.bind(v.data(), nullptr);
  Matrix x(2, 2), y;
  x << 1, 0, -1, 2;
  d.forward(x, y, false);
  Matrix want(2, 3);
  want << 1.5f, 1, 5, 7.5f, 7, 11;
  CHECK(y.isApprox(want));
}

TEST_CASE("activations: gradients and values", "[layers]") {
  for (Activation a : {Activation::kSigmoid, Activation::kTanh}) {
    ActivationLayer l("act", Shape{1, 1, 6}, a);
    CHECK(testing::gradient_check(l, 3).max_error() < 2e-2);
  }
  // ReLU: keep inputs away from the kink so central differences are exact.
  ActivationLayer relu("act", Shape{1, 1, 4}, Activation::kRelu);
  Matrix x(1, 4), y, dy(1, 4), dx;
  x << -2, -0.5f, 0.5f, 3;
  dy << 1, 2, 3, 4;
  relu.forward(x, y, false);
  relu.backward(x, y, dy, &dx);
  CHECK(y(0, 0) == 0);
  CHECK(y(0, 3) == 3);
  CHECK(dx(0, 0) == 0);
  CHECK(dx(0, 1) == 0);
  CHECK(dx(0, 2) == 3);
  CHECK(dx(0, 3) == 4);
  ActivationLayer sig("act", Shape{1, 1, 1}, Activation::kSigmoid);
  Matrix z(1, 1), s;
  z << 0;
  sig.forward(z, s, false);
  CHECK(s(0, 0) == Approx(0.5f));
  Activation parsed;
  CHECK(parse_activation("tanh", &parsed));
  CHECK(parsed == Activation::kTanh);
  CHECK_FALSE(parse_activation("swish", &parsed));
}
