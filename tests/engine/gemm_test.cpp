// Gemm against a double-precision reference over shapes that reach every tile height, column-tile
// width and masked edge of the AVX-512 kernel (and Eigen's paths on other builds), and the epilogues.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/layers/gemm.h"
#include "engine/rng.h"

using namespace podlab;

namespace {

using Ref = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Matrix random_matrix(int rows, int cols, Rng& rng) {
  Matrix m(rows, cols);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-1.0f, 1.0f);
  return m;
}

// Largest |got - want| relative to the size of a product term, sqrt(k).
double error(const Matrix& got, const Ref& want, int k) {
  if (got.size() == 0) return 0;
  return (got.cast<double>() - want).cwiseAbs().maxCoeff() / std::sqrt(std::max(1, k));
}

}  // namespace

TEST_CASE("Gemm products match a double-precision reference", "[gemm]") {
  Rng rng(17);
  Gemm gemm;
  for (int m : {1, 2, 5, 7, 8, 9, 13, 50, 100, 131}) {
    for (int n : {1, 10, 16, 17, 47, 48, 64, 65, 200}) {
      for (int k : {0, 1, 3, 31, 100}) {
        INFO("m " << m << " n " << n << " k " << k);
        const Matrix a = random_matrix(m, k, rng), b = random_matrix(k, n, rng), bias = random_matrix(1, n, rng);
        const Ref ab = a.cast<double>() * b.cast<double>();

        Matrix c(m, n);
        gemm.ab(a.data(), b.data(), c.data(), m, n, k);
        CHECK(error(c, ab, k) < 1e-6);
        gemm.ab(a.data(), b.data(), c.data(), m, n, k, bias.data());
        const Ref with_bias = ab.rowwise() + bias.cast<double>().row(0);
        CHECK(error(c, with_bias, k) < 1e-6);
        gemm.ab(a.data(), b.data(), c.data(), m, n, k, bias.data(), /*relu=*/true);
        CHECK(error(c, with_bias.cwiseMax(0.0), k) < 1e-6);
        CHECK(c.minCoeff() >= 0.0f);

        // a^T b with a (k, m): written, then added onto existing values.
        const Matrix at = random_matrix(k, m, rng), start = random_matrix(m, n, rng);
        const Ref atb = at.cast<double>().transpose() * b.cast<double>();
        gemm.atb(at.data(), b.data(), c.data(), m, n, k);
        CHECK(error(c, atb, k) < 1e-6);
        c = start;
        gemm.atb_add(at.data(), b.data(), c.data(), m, n, k);
        CHECK(error(c, start.cast<double>() + atb, k) < 1e-6);

        // a b^T with b (n, k).
        const Matrix bt = random_matrix(n, k, rng);
        gemm.abt(a.data(), bt.data(), c.data(), m, n, k);
        CHECK(error(c, a.cast<double>() * bt.cast<double>().transpose(), k) < 1e-6);
      }
    }
  }
}

TEST_CASE("Gemm results do not depend on the workspace's history", "[gemm]") {
  Rng rng(5);
  const Matrix a = random_matrix(100, 784, rng), b = random_matrix(784, 200, rng);
  Matrix first(100, 200), again(100, 200), small(3, 5);
  Gemm gemm;
  gemm.ab(a.data(), b.data(), first.data(), 100, 200, 784);
  gemm.ab(a.data(), b.data(), small.data(), 3, 5, 7);  // a different shape in between
  gemm.ab(a.data(), b.data(), again.data(), 100, 200, 784);
  CHECK(first == again);
  Gemm other;
  other.ab(a.data(), b.data(), again.data(), 100, 200, 784);
  CHECK(first == again);
}

TEST_CASE("Gemm products with a b too large to sweep at once (blocked along k)", "[gemm]") {
  // b of (300, 1000) floats is 1.2 MB: the AVX-512 kernel sweeps it in blocks of rows, carrying
  // partial sums in c between blocks.
  Rng rng(23);
  Gemm gemm;
  for (int m : {5, 50}) {
    const int n = 1000, k = 300;
    INFO("m " << m);
    const Matrix a = random_matrix(m, k, rng), b = random_matrix(k, n, rng), bias = random_matrix(1, n, rng);
    const Ref with_bias = (a.cast<double>() * b.cast<double>()).rowwise() + bias.cast<double>().row(0);
    Matrix c(m, n);
    gemm.ab(a.data(), b.data(), c.data(), m, n, k, bias.data());
    CHECK(error(c, with_bias, k) < 2e-6);
    gemm.ab(a.data(), b.data(), c.data(), m, n, k, bias.data(), /*relu=*/true);
    CHECK(error(c, with_bias.cwiseMax(0.0), k) < 2e-6);
    const Matrix at = random_matrix(k, m, rng), start = random_matrix(m, n, rng);
    c = start;
    gemm.atb_add(at.data(), b.data(), c.data(), m, n, k);
    CHECK(error(c, start.cast<double>() + at.cast<double>().transpose() * b.cast<double>(), k) < 2e-6);
  }
}

TEST_CASE("Gemm a^T b into a c larger than the caches (streaming stores)", "[gemm]") {
  Rng rng(29);
  Gemm gemm;
  const int m = 1100, n = 1000, k = 3;  // 1.1M floats of c: written with non-temporal stores
  const Matrix at = random_matrix(k, m, rng), b = random_matrix(k, n, rng);
  Matrix c = Matrix::Constant(m, n, 7.0f);
  gemm.atb(at.data(), b.data(), c.data(), m, n, k);
  CHECK(error(c, at.cast<double>().transpose() * b.cast<double>(), k) < 1e-6);
}

TEST_CASE("Gemm segmented products read a strided a in place, whole or cut along k", "[gemm]") {
  if (!Gemm::segmented_available()) return;
  // a (m, k) as runs: a(i, kk) = store[i * a_row + (kk / len) * stride + (kk % len) * a_col], here an
  // im2col over a padded 7 x 9 image of 3 channels with a 3 x 3 kernel: rows are positions along one
  // output row (a_row = C), runs are kernel rows (len = K*C, stride = one padded row).
  Rng rng(31);
  Gemm gemm;
  const int kh = 3, ch = 3, wp = 9, len = kh * ch, k = kh * len, m = wp - kh + 1;
  const Matrix store = random_matrix(7, wp * ch, rng);
  Matrix a(m, k);
  for (int i = 0; i < m; ++i)
    for (int kk = 0; kk < k; ++kk) a(i, kk) = store.data()[i * ch + (kk / len) * wp * ch + kk % len];
  for (int n : {5, 20, 64}) {
    INFO("n " << n);
    const Matrix b = random_matrix(k, n, rng), bias = random_matrix(1, n, rng);
    const Ref with_bias = (a.cast<double>() * b.cast<double>()).rowwise() + bias.cast<double>().row(0);
    Matrix whole(m, n), cut(m, n);
    gemm.ab_segmented(store.data(), ch, 1, len, wp * ch, b.data(), whole.data(), m, n, k, Gemm::Chain::kWhole,
                      bias.data(), /*relu=*/true);
    CHECK(error(whole, with_bias.cwiseMax(0.0), k) < 1e-6);
    // The same product in three calls, one per kernel row: bit for bit the single call's result.
    for (int r = 0; r < kh; ++r) {
      const Gemm::Chain chain = r == 0 ? Gemm::Chain::kFirst : r == kh - 1 ? Gemm::Chain::kLast : Gemm::Chain::kMore;
      gemm.ab_segmented(store.data() + r * wp * ch, ch, 1, len, 0, b.data() + r * len * n, cut.data(), m, n, len,
                        chain, bias.data(), true);
    }
    CHECK(cut == whole);
    // c += a^T-like product: rows of the result are columns of one run, k runs along positions.
    const Matrix d = random_matrix(m, n, rng), start = random_matrix(len, n, rng);
    Matrix c = start;
    gemm.ab_segmented(store.data(), 1, ch, m, 0, d.data(), c.data(), len, n, m, Gemm::Chain::kAdd);
    const Ref want = start.cast<double>() + a.leftCols(len).cast<double>().transpose() * d.cast<double>();
    CHECK(error(c, want, m) < 1e-6);
  }
}
