// All of a model's parameters live in one flat float buffer; each variable is a named view
// (`layer1/weights`, shape rows x cols, row-major) at an offset. That flat buffer is what workers push
// and pull and what checkpoints store. Gradients use a second buffer with the same layout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace podlab {

// Flat buffers are 64-byte aligned and every variable starts on a 64-byte boundary, so Eigen takes the
// same (alignment-dependent) code path for a variable in every buffer: results are then bit-for-bit
// reproducible across runs and replicas.
using FloatBuffer = std::vector<float, Eigen::aligned_allocator<float>>;
inline constexpr size_t kParamAlignFloats = 16;

enum class Init {
  kZeros,
  kOnes,
  kGlorotUniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
  kHeNormal,       // N(0, 2 / fan_in)                              (He et al. 2015)
  kUniformScaled,  // U(-a, a), a = 1 / sqrt(fan_in)                (LSTM default)
  kConstant,       // every element = init_value
  kForgetBias,     // LSTM bias (1, 4U), gates i,f,g,o: zeros, forget quarter = init_value
                   //   (Jozefowicz et al. 2015 use 1)
};

struct ParamInfo {
  std::string name;    // "scope/variable", e.g. "layer1/weights"
  int rows = 0, cols = 0;
  size_t offset = 0;   // in floats, into the flat buffer
  Init init = Init::kZeros;
  int fan_in = 0, fan_out = 0;
  float init_value = 0.0f;
  size_t size() const { return static_cast<size_t>(rows) * cols; }
};

// The layout of a flat buffer: variables in declaration order, each padded to kParamAlignFloats.
// Padding floats stay zero.
class ParamLayout {
 public:
  // Appends a variable and returns its index.
  int add(const std::string& name, int rows, int cols, Init init, int fan_in = 0, int fan_out = 0,
          float init_value = 0.0f);
  const std::vector<ParamInfo>& params() const { return params_; }
  const ParamInfo& operator[](int i) const { return params_[i]; }
  // Floats in the buffer, padding included.
  size_t total() const { return total_; }
  // Trainable parameters (padding excluded).
  size_t parameter_count() const {
    size_t n = 0;
    for (const ParamInfo& p : params_) n += p.size();
    return n;
  }
  // Index of the variable called `name`, or -1.
  int find(const std::string& name) const;
  // Fills `values` (size total()) from each variable's initialiser; variable i draws from
  // Rng(derive_seed(seed, i)), so adding a variable does not change the others' values.
  void initialise(float* values, uint64_t seed) const;

 private:
  std::vector<ParamInfo> params_;
  size_t total_ = 0;
};

}  // namespace podlab
