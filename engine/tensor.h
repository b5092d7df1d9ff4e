// Tensor aliases. A batch is a row-major matrix: one sample per row. Images are stored NHWC and
// flattened, so a (batch, H*W*C) matrix holds a batch of H x W x C images; sequences of T steps of
// width D are stored as (batch, T*D).
#pragma once

#include <Eigen/Core>
#include <cstddef>

namespace podlab {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::Matrix<float, 1, Eigen::Dynamic, Eigen::RowMajor>;  // a row vector
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using VectorMap = Eigen::Map<Vector>;
using ConstVectorMap = Eigen::Map<const Vector>;

// Shape of one sample (batch dimension excluded): height, width, channels. A flat vector of n
// features is {1, 1, n}; a sequence of T steps of width D is {1, T, D}.
struct Shape {
  int h = 1, w = 1, c = 1;
  int size() const { return h * w * c; }
  bool operator==(const Shape& o) const { return h == o.h && w == o.w && c == o.c; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

}  // namespace podlab
