// Parameter layout and seeded initialisation.
#include "engine/params.h"

#include <cassert>
#include <cmath>

namespace podlab {

int ParamLayout::add(const std::string& name, int rows, int cols, Init init, int fan_in, int fan_out,
                     float init_value) {
  assert(rows > 0 && cols > 0);
  ParamInfo p;
  p.name = name;
  p.rows = rows;
  p.cols = cols;
  p.offset = (total_ + kParamAlignFloats - 1) / kParamAlignFloats * kParamAlignFloats;
  p.init = init;
  p.fan_in = fan_in;
  p.fan_out = fan_out;
  p.init_value = init_value;
  total_ = p.offset + p.size();
  params_.push_back(p);
  return static_cast<int>(params_.size()) - 1;
}

int ParamLayout::find(const std::string& name) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].name == name) return static_cast<int>(i);
  return -1;
}

void ParamLayout::initialise(float* values, uint64_t seed) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamInfo& p = params_[i];
    Rng rng(derive_seed(seed, i));
    float* v = values + p.offset;
    const size_t n = p.size();
    switch (p.init) {
      case Init::kZeros:
        for (size_t k = 0; k < n; ++k) v[k] = 0.0f;
        break;
      case Init::kOnes:
        for (size_t k = 0; k < n; ++k) v[k] = 1.0f;
        break;
      case Init::kConstant:
        for (size_t k = 0; k < n; ++k) v[k] = p.init_value;
        break;
      case Init::kForgetBias:  // columns [cols/4, cols/2) of every row are the forget gate
        for (size_t k = 0; k < n; ++k) {
          const int col = static_cast<int>(k % p.cols);
          v[k] = (col >= p.cols / 4 && col < p.cols / 2) ? p.init_value : 0.0f;
        }
        break;
      case Init::kGlorotUniform: {
        const float a = std::sqrt(6.0f / static_cast<float>(p.fan_in + p.fan_out));
        for (size_t k = 0; k < n; ++k) v[k] = rng.uniform(-a, a);
        break;
      }
      case Init::kHeNormal: {
        const float s = std::sqrt(2.0f / static_cast<float>(p.fan_in));
        for (size_t k = 0; k < n; ++k) v[k] = s * rng.normal();
        break;
      }
      case Init::kUniformScaled: {
        const float a = 1.0f / std::sqrt(static_cast<float>(p.fan_in));
        for (size_t k = 0; k < n; ++k) v[k] = rng.uniform(-a, a);
        break;
      }
    }
  }
}

}  // namespace podlab
