// Softmax cross-entropy: values, stability with huge logits, and its gradient.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/loss.h"
#include "engine/rng.h"

using namespace podlab;

TEST_CASE("softmax cross-entropy matches hand computation", "[loss]") {
  Matrix logits(2, 3), probs, d;
  logits << 0, 0, 0, 1, 2, 3;
  const int labels[] = {1, 2};
  const LossStats st = softmax_cross_entropy(logits, labels, 2.0f, probs, &d);
  const double l0 = std::log(3.0);
  const double l1 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  CHECK(st.loss_sum == Approx(l0 + l1).epsilon(1e-6));
  CHECK(st.correct == 1);  // row 0 ties (argmax 0), row 1 predicts 2
  CHECK(probs(0, 1) == Approx(1.0 / 3));
  CHECK(d(0, 1) == Approx((1.0 / 3 - 1) / 2));
  CHECK(d(1, 0) == Approx(std::exp(1.0) / std::exp(l1 + 3.0) / 2));
  CHECK(probs.rowwise().sum().isApprox(Matrix::Ones(2, 1)));
}

TEST_CASE("softmax cross-entropy is stable for huge logits", "[loss]") {
  Matrix logits(1, 3), probs, d;
  logits << 1000, -1000, 999;
  const int label = 2;
  const LossStats st = softmax_cross_entropy(logits, &label, 1.0f, probs, &d);
  CHECK(std::isfinite(st.loss_sum));
  CHECK(st.loss_sum == Approx(1.0 + std::log1p(std::exp(-1.0))).epsilon(1e-5));
  CHECK(d.allFinite());
}

TEST_CASE("softmax cross-entropy gradient matches finite differences", "[loss]") {
  Rng rng(3);
  Matrix logits(4, 5), probs, d;
  for (int i = 0; i < logits.size(); ++i) logits.data()[i] = rng.uniform(-2, 2);
  const int labels[] = {0, 4, 2, 2};
  softmax_cross_entropy(logits, labels, 4.0f, probs, &d);
  const float eps = 1e-2f;
  for (int i = 0; i < logits.size(); ++i) {
    Matrix lp = logits, lm = logits;
    lp.data()[i] += eps;
    lm.data()[i] -= eps;
    const double fp = softmax_cross_entropy(lp, labels, 1, probs, nullptr).loss_sum / 4;
    const double fm = softmax_cross_entropy(lm, labels, 1, probs, nullptr).loss_sum / 4;
    CHECK(d.data()[i] == Approx((fp - fm) / (2 * eps)).margin(2e-4));
  }
}
