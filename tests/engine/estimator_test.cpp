// DNNClassifier tests on a synthetic, separable dataset: 10 classes of 8x8 images, class k lighting
// its own 6 pixels brightly over a noisy background. Checks that fit/score learn it, that predict
// gives one label per row, the steps/epochs options, determinism, and the errors fit() reports.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "engine/estimator.h"
#include "engine/rng.h"

namespace podlab {

namespace {

// Class k lights pixels 6k..6k+5 (rows of 8, so the patterns are disjoint) at 180..255 over a
// background of 0..79.
Split synthetic_split(int count, uint64_t seed) {
  Split s;
  s.count = count;
  s.rows = s.cols = 8;
  s.pixels.resize(static_cast<size_t>(count) * 64);
  s.labels.resize(count);
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int k = static_cast<int>(rng.below(10));
    s.labels[i] = static_cast<uint8_t>(k);
    uint8_t* img = &s.pixels[static_cast<size_t>(i) * 64];
    for (int p = 0; p < 64; ++p) img[p] = static_cast<uint8_t>(rng.below(80));
    for (int j = 0; j < 6; ++j) img[6 * k + j] = static_cast<uint8_t>(180 + rng.below(76));
  }
  return s;
}

// All of a split's images as a (count, 64) matrix of floats in [0, 1], and their labels.
Matrix images(const Split& s, std::vector<int>* labels) {
  std::vector<int> idx(s.count);
  std::iota(idx.begin(), idx.end(), 0);
  labels->resize(s.count);
  Matrix x;
  s.gather(idx.data(), s.count, x, labels->data());
  return x;
}

DNNOptions small_options() {
  DNNOptions o;
  o.epochs = 10;
  o.batch = 32;
  o.learning_rate = 0.1f;
  o.seed = 3;
  return o;
}

}  // namespace

TEST_CASE("DNNClassifier learns a separable dataset", "[estimator]") {
  const Split train = synthetic_split(1000, 1), test = synthetic_split(300, 2);
  DNNClassifier clf({32}, 10, small_options());
  CHECK_FALSE(clf.fitted());
  const Status st = clf.fit(train);
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(clf.fitted());
  CHECK(clf.trainer()->position().step == 10 * 32);  // 10 epochs of ceil(1000 / 32) batches
  CHECK(clf.score(test) > 0.95);

  std::vector<int> truth;
  const Matrix x = images(test, &truth);
  const std::vector<int> pred = clf.predict(x);
  REQUIRE(pred.size() == static_cast<size_t>(x.rows()));
  int correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    CHECK((pred[i] >= 0 && pred[i] < 10));
    correct += pred[i] == truth[i];
  }
  CHECK(static_cast<double>(correct) / pred.size() == Approx(clf.score(test)));
  CHECK(clf.predict(Matrix(0, 64)).empty());
}

TEST_CASE("DNNClassifier with two hidden layers, adam and two threads", "[estimator]") {
  const Split train = synthetic_split(1000, 4), test = synthetic_split(300, 5);
  DNNOptions o = small_options();
  o.optimizer = "adam";
  o.learning_rate = 0.01f;
  o.threads = 2;
  o.epochs = 0;
  o.steps = 150;  // steps take precedence over epochs
  DNNClassifier clf({64, 32}, 10, o);
  REQUIRE(clf.fit(train).ok());
  CHECK(clf.trainer()->position().step == 150);
  CHECK(clf.score(test) > 0.95);
  CHECK(std::isfinite(clf.last_step().loss));
}

TEST_CASE("DNNClassifier is deterministic for a seed, and fit starts afresh", "[estimator]") {
  const Split train = synthetic_split(400, 6), test = synthetic_split(100, 7);
  std::vector<int> truth;
  const Matrix x = images(test, &truth);
  DNNOptions o = small_options();
  o.epochs = 2;
  DNNClassifier a({16}, 10, o), b({16}, 10, o);
  REQUIRE(a.fit(train).ok());
  REQUIRE(b.fit(train).ok());
  const std::vector<int> pa = a.predict(x);
  CHECK(pa == b.predict(x));
  CHECK(a.score(test) == b.score(test));
  // A second fit retrains from the seed rather than continuing. (Predictions, not parameter bits, are
  // compared: Eigen's vectorised column sums round differently with the gradient buffer's alignment.)
  REQUIRE(a.fit(train).ok());
  CHECK(a.trainer()->position().step == 2 * 13);
  CHECK(a.predict(x) == pa);
}

TEST_CASE("DNNClassifier::fit reports bad input", "[estimator]") {
  DNNClassifier clf({8}, 10, small_options());

  const Status empty = clf.fit(Split{});
  CHECK_FALSE(empty.ok());
  CHECK(empty.code() == StatusCode::kData);
  CHECK_FALSE(clf.fitted());
  CHECK(clf.score(Split{}) == 0.0);

  Split train = synthetic_split(50, 8);
  train.labels[7] = 12;
  const Status label = clf.fit(train);
  REQUIRE_FALSE(label.ok());
  CHECK(label.message().find("label 12") != std::string::npos);
  CHECK_FALSE(clf.fitted());

  train = synthetic_split(50, 8);
  REQUIRE(clf.fit(train).ok());
  DNNOptions o = small_options();
  o.optimizer = "adagrad";
  CHECK_FALSE(DNNClassifier({8}, 10, o).fit(train).ok());
  o = small_options();
  o.threads = 64;  // more threads than the batch of 32
  CHECK_FALSE(DNNClassifier({8}, 10, o).fit(train).ok());
  o = small_options();
  o.epochs = 0;
  CHECK_FALSE(DNNClassifier({8}, 10, o).fit(train).ok());
  CHECK_FALSE(DNNClassifier({8, 0}, 10, small_options()).fit(train).ok());
  CHECK_FALSE(DNNClassifier({8}, 1, small_options()).fit(train).ok());
  o = small_options();
  o.learning_rate = 1e30f;  // diverges
  const Status diverged = DNNClassifier({8}, 10, o).fit(train);
  CHECK_FALSE(diverged.ok());
}

}  // namespace podlab
