// Finite-difference gradient check for any Layer.
//
// The scalar under test is L = sum(out .* R) for a fixed random R, so dL/dout = R. The analytic
// gradients from backward() (inputs and every declared variable) are compared with central
// differences (L(x + e) - L(x - e)) / 2e, in float. Returns the worst relative error
// |a - n| / max(1, |a|, |n|) over all checked coordinates (at most `max_coords` per tensor, spread
// evenly), so callers assert it is below a tolerance such as 2e-2.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/layers/layer.h"
#include "engine/rng.h"

namespace podlab::testing {

struct GradCheckResult {
  double max_input_error = 0;
  double max_param_error = 0;
  double max_error() const { return std::max(max_input_error, max_param_error); }
};

inline double rel_error(double a, double n) {
  return std::abs(a - n) / std::max({1.0, std::abs(a), std::abs(n)});
}

// `layer` must be freshly constructed (not yet declared). `training` is passed to forward (dropout
// uses a fixed step seed so the mask is the same in every evaluation).
inline GradCheckResult gradient_check(Layer& layer, int batch, uint64_t seed = 1, float eps = 1e-2f,
                                      int max_coords = 60, bool training = false) {
  ParamLayout layout;
  layer.declare(layout);
  std::vector<float> values(layout.total()), grads(layout.total(), 0.0f);
  layout.initialise(values.data(), seed);
  Rng rng(seed + 7);
  for (float& v : values) v += 0.1f * rng.uniform(-1.0f, 1.0f);  // make biases non-zero too
  layer.bind(values.data(), grads.data());

  const int n_in = layer.input_shape().size(), n_out = layer.output_shape().size();
  Matrix x(batch, n_in), r(batch, n_out), out, din;
  for (int i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(-1.0f, 1.0f);
  for (int i = 0; i < r.size(); ++i) r.data()[i] = rng.uniform(-1.0f, 1.0f);

  auto loss = [&]() {
    layer.set_step_seed(42);
    layer.forward(x, out, training);
    double l = 0;
    for (int i = 0; i < out.size(); ++i) l += static_cast<double>(out.data()[i]) * r.data()[i];
    return l;
  };
  loss();
  layer.backward(x, out, r, &din);

  GradCheckResult res;
  auto check = [&](float* base, const float* analytic, size_t n, double* worst) {
    const size_t stride = std::max<size_t>(1, n / static_cast<size_t>(max_coords));
    for (size_t k = 0; k < n; k += stride) {
      const float saved = base[k];
      base[k] = saved + eps;
      const double lp = loss();
      base[k] = saved - eps;
      const double lm = loss();
      base[k] = saved;
      const double numeric = (lp - lm) / (2.0 * eps);
      *worst = std::max(*worst, rel_error(analytic[k], numeric));
    }
  };
  check(x.data(), din.data(), static_cast<size_t>(x.size()), &res.max_input_error);
  for (const ParamInfo& p : layout.params())
    check(values.data() + p.offset, grads.data() + p.offset, p.size(), &res.max_param_error);
  return res;
}

}  // namespace podlab::testing
