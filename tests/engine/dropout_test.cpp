// Dropout tests: drop fraction and scaling on 10^5 elements, the mask's dependence on the step seed
// (and its documented draw order), identity at inference, and finite-difference gradients.
#include <catch2/catch.hpp>

#include "engine/layers/dropout.h"
#include "tests/engine/gradcheck.h"

namespace podlab {

TEST_CASE("Dropout drops about `rate` of the elements and scales the survivors", "[layers]") {
  const float rate = 0.3f;
  Dropout drop("drop", Shape{1, 1, 1000}, rate);
  const Matrix x = Matrix::Ones(100, 1000);  // 10^5 elements
  Matrix out;
  drop.set_step_seed(7);
  drop.forward(x, out, true);
  const float kept_value = 1.0f / (1.0f - rate);
  int dropped = 0, other = 0;
  for (int i = 0; i < out.size(); ++i) {
    if (out.data()[i] == 0.0f) ++dropped;
    else if (out.data()[i] != kept_value) ++other;
  }
  CHECK(other == 0);
  // The binomial standard deviation is sqrt(0.3 * 0.7 / 1e5) ~ 0.0015; allow ~7 of them.
  CHECK(static_cast<double>(dropped) / out.size() == Approx(rate).margin(0.01));
  CHECK(out.mean() == Approx(1.0).margin(0.02));  // inverted dropout keeps the expectation
}

TEST_CASE("Dropout masks follow the step seed", "[layers]") {
  Dropout drop("drop", Shape{4, 5, 3}, 0.5f);
  Rng rng(5);
  Matrix x(8, 60);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(0.5f, 1.5f);  // never zero
  Matrix a, b, c;
  drop.set_step_seed(123);
  drop.forward(x, a, true);
  drop.set_step_seed(123);
  drop.forward(x, b, true);
  drop.set_step_seed(124);
  drop.forward(x, c, true);
  CHECK(a == b);
  int differ = 0;
  for (int i = 0; i < a.size(); ++i) differ += (a.data()[i] == 0.0f) != (c.data()[i] == 0.0f);
  CHECK(differ > a.size() / 4);  // about half the positions differ for independent masks

  // Documented draw order: one Rng(seed).uniform() per element, in row order.
  Rng expect(123);
  for (int r = 0; r < x.rows(); ++r)
    for (int k = 0; k < x.cols(); ++k) {
      const bool drop_it = expect.uniform() < 0.5f;
      REQUIRE((a(r, k) == 0.0f) == drop_it);
      if (!drop_it) REQUIRE(a(r, k) == 2.0f * x(r, k));
    }
}

TEST_CASE("Dropout backward applies the same mask", "[layers]") {
  Dropout drop("drop", Shape{1, 1, 50}, 0.4f);
  const Matrix x = Matrix::Ones(3, 50);
  Matrix out, din;
  drop.set_step_seed(9);
  drop.forward(x, out, true);
  drop.backward(x, out, Matrix::Ones(3, 50), &din);
  CHECK(din == out);  // with in = dout = 1, both equal the mask
  drop.backward(x, out, Matrix::Ones(3, 50), nullptr);  // no din wanted: nothing to do
}

TEST_CASE("Dropout is the identity at inference and at rate 0", "[layers]") {
  Rng rng(3);
  Matrix x(4, 30), dout(4, 30);
  for (int i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(-1.0f, 1.0f);
  for (int i = 0; i < dout.size(); ++i) dout.data()[i] = rng.uniform(-1.0f, 1.0f);
  Matrix out, din;
  SECTION("inference") {
    Dropout drop("drop", Shape{1, 1, 30}, 0.5f);
    drop.set_step_seed(1);
    drop.forward(x, out, true);  // a training step first, so a stale mask exists
    drop.forward(x, out, false);
    CHECK(out == x);
    drop.backward(x, out, dout, &din);
    CHECK(din == dout);
  }
  SECTION("rate 0 while training") {
    Dropout drop("drop", Shape{1, 1, 30}, 0.0f);
    drop.forward(x, out, true);
    CHECK(out == x);
    drop.backward(x, out, dout, &din);
    CHECK(din == dout);
  }
}

TEST_CASE("Dropout gradients match finite differences", "[layers]") {
  for (bool training : {true, false}) {
    Dropout drop("drop", Shape{5, 7, 3}, 0.5f);
    INFO("training " << training);
    const auto res = testing::gradient_check(drop, 3, 1, 1e-2f, 60, training);
    CHECK(res.max_error() < 2e-2);
  }
}

}  // namespace podlab
