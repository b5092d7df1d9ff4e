// Tests for the LSTM layer: finite-difference gradients (one layer, both output modes, and two
// stacked layers end to end), forward values computed by hand for T = 1 and T = 2 with D = U = 1,
// output shapes and graph description, and the forget-gate bias initialisation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/layers/lstm.h"
#include "engine/rng.h"
#include "tests/engine/gradcheck.h"

namespace podlab {
namespace {

// One Lstm with the kernel and bias set by hand (gates i, f, g, o). kernel rows: [x row; h row].
struct TinyLstm {
  Lstm layer;
  ParamLayout layout;
  std::vector<float> values, grads;
  TinyLstm(int steps, bool return_sequences) : layer("l", Shape{1, steps, 1}, 1, return_sequences) {
    layer.declare(layout);
    values.assign(layout.total(), 0.0f);
    grads.assign(layout.total(), 0.0f);
    const float kernel[8] = {0.5f, -0.5f, 1.0f, 2.0f,    // from x_t
                             0.3f, -0.4f, 0.7f, -0.6f};  // from h_{t-1}
    const float bias[4] = {0.1f, 1.0f, -0.2f, 0.0f};
    std::copy(kernel, kernel + 8, values.begin() + layout[layout.find("l/kernel")].offset);
    std::copy(bias, bias + 4, values.begin() + layout[layout.find("l/bias")].offset);
    layer.bind(values.data(), grads.data());
  }
};

}  // namespace

TEST_CASE("Lstm gradients match finite differences", "[layers]") {
  struct Case { int steps, width, units; };
  const Case cases[] = {{3, 2, 3}, {4, 3, 4}, {5, 4, 5}};
  for (const Case& c : cases) {
    for (bool seq : {true, false}) {
      INFO("T=" << c.steps << " D=" << c.width << " U=" << c.units << " return_sequences=" << seq);
      Lstm lstm("lstm", Shape{1, c.steps, c.width}, c.units, seq);
      const testing::GradCheckResult r = testing::gradient_check(lstm, 2, 3 + c.units);
      CHECK(r.max_input_error < 2e-2);
      CHECK(r.max_param_error < 2e-2);
    }
  }
}

TEST_CASE("Two stacked Lstm layers back-propagate end to end", "[layers]") {
  const int batch = 2, T = 4, D = 3, U1 = 4, U2 = 3;
  Lstm first("lstm1", Shape{1, T, D}, U1, /*return_sequences=*/true);
  Lstm second("lstm2", first.output_shape(), U2, /*return_sequences=*/false);
  ParamLayout layout;
  first.declare(layout);
  second.declare(layout);
  std::vector<float> values(layout.total()), grads(layout.total(), 0.0f);
  layout.initialise(values.data(), 11);
  Rng rng(12);
  for (float& v : values) v += 0.1f * rng.uniform(-1.0f, 1.0f);
  first.bind(values.data(), grads.data());
  second.bind(values.data(), grads.data());

  Matrix x(batch, T * D), r(batch, U2), mid, out, dmid, dx;
  for (int i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform(-1.0f, 1.0f);
  for (int i = 0; i < r.size(); ++i) r.data()[i] = rng.uniform(-1.0f, 1.0f);
  auto loss = [&]() {  // L = sum(out .* r), so dL/dout = r
    first.forward(x, mid, false);
    second.forward(mid, out, false);
    return static_cast<double>((out.array() * r.array()).sum());
  };
  loss();
  second.backward(mid, out, r, &dmid);
  first.backward(x, mid, dmid, &dx);
  REQUIRE(mid.rows() == batch);
  REQUIRE(mid.cols() == T * U1);
  REQUIRE(dx.cols() == T * D);

  const float eps = 1e-2f;
  auto numeric = [&](float* p) {
    const float saved = *p;
    *p = saved + eps;
    const double lp = loss();
    *p = saved - eps;
    const double lm = loss();
    *p = saved;
    return (lp - lm) / (2.0 * eps);
  };
  double worst = 0;
  const ParamInfo& k1 = layout[layout.find("lstm1/kernel")];
  for (size_t k = 0; k < k1.size(); ++k) {  // every coordinate of the first layer's kernel
    const double n = numeric(values.data() + k1.offset + k);
    worst = std::max(worst, testing::rel_error(grads[k1.offset + k], n));
  }
  for (int k = 0; k < x.size(); ++k)
    worst = std::max(worst, testing::rel_error(dx.data()[k], numeric(x.data() + k)));
  CHECK(worst < 2e-2);
}

TEST_CASE("Lstm single step matches a hand computation", "[layers]") {
  // T = 1, D = U = 1, h_0 = c_0 = 0:  i = s(0.5x + 0.1), f unused, g = tanh(x - 0.2), o = s(2x),
  // c = i g, h = o tanh(c).  x = 0.8: i = 0.6224593, g = 0.5370496, o = 0.8320184, c = 0.3342915,
  // h = 0.2682191.  x = -1: i = 0.4013123, g = -0.8336546, o = 0.1192029, h = -0.0384559.
  TinyLstm t(1, false);
  Matrix x(2, 1), out;
  x << 0.8f, -1.0f;
  t.layer.forward(x, out, false);
  REQUIRE(out.rows() == 2);
  REQUIRE(out.cols() == 1);
  CHECK(out(0, 0) == Approx(0.2682191).epsilon(1e-5));
  CHECK(out(1, 0) == Approx(-0.0384559).epsilon(1e-5));
}

TEST_CASE("Lstm two steps carry h and c through the recurrence", "[layers]") {
  // Same weights, x = (0.8, -1). Step 2 uses h_1 = 0.2682191 through the kernel's second row and
  // c_1 = 0.3342915 through f: a_2 = (-0.5 + 0.3 h_1 + 0.1, 0.5 - 0.4 h_1 + 1, -1 + 0.7 h_1 - 0.2,
  // -2 - 0.6 h_1)  ->  c_2 = -0.0548389, h_2 = -0.0056600.
  TinyLstm t(2, true);
  Matrix x(1, 2), out;
  x << 0.8f, -1.0f;
  t.layer.forward(x, out, false);
  REQUIRE(out.cols() == 2);
  CHECK(out(0, 0) == Approx(0.2682191).epsilon(1e-5));
  CHECK(out(0, 1) == Approx(-0.0056600).margin(1e-6));

  TinyLstm last(2, false);
  Matrix h;
  last.layer.forward(x, h, false);
  REQUIRE(h.cols() == 1);
  CHECK(h(0, 0) == Approx(out(0, 1)).margin(1e-7));
}

TEST_CASE("Lstm backward adds into gradients", "[layers]") {
  TinyLstm t(3, true);
  Matrix x(2, 3), dout = Matrix::Constant(2, 3, 0.5f), out, din;
  x << 0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f;
  t.layer.forward(x, out, true);
  t.layer.backward(x, out, dout, &din);
  const std::vector<float> once = t.grads;
  t.layer.backward(x, out, dout, &din);
  for (size_t k = 0; k < once.size(); ++k) CHECK(t.grads[k] == Approx(2.0f * once[k]).margin(1e-6));
  t.layer.backward(x, out, dout, nullptr);  // first layer: no din
  for (size_t k = 0; k < once.size(); ++k) CHECK(t.grads[k] == Approx(3.0f * once[k]).margin(1e-6));
}

TEST_CASE("Lstm output shapes and graph description", "[layers]") {
  Lstm seq("lstm1", Shape{1, 28, 28}, 128, true);
  Lstm last("lstm2", seq.output_shape(), 64, false);
  CHECK(seq.output_shape() == Shape{1, 28, 128});
  CHECK(last.output_shape() == Shape{1, 1, 64});
  CHECK(seq.kind() == "LSTM");
  CHECK(seq.forward_flops() >= 28ll * 2 * (28 + 128) * 4 * 128);

  ParamLayout layout;
  seq.declare(layout);
  last.declare(layout);
  REQUIRE(layout.params().size() == 4);
  CHECK(layout[0].name == "lstm1/kernel");
  CHECK(layout[0].rows == 28 + 128);
  CHECK(layout[0].cols == 4 * 128);
  CHECK(layout[1].name == "lstm1/bias");
  CHECK(layout[2].rows == 128 + 64);
  CHECK(layout[3].cols == 4 * 64);
  std::vector<float> values(layout.total());
  layout.initialise(values.data(), 5);
  seq.bind(values.data(), nullptr);
  last.bind(values.data(), nullptr);

  Matrix x = Matrix::Random(3, 28 * 28), mid, out;
  seq.forward(x, mid, false);
  last.forward(mid, out, false);
  CHECK(mid.rows() == 3);
  CHECK(mid.cols() == 28 * 128);
  CHECK(out.rows() == 3);
  CHECK(out.cols() == 64);

  ModelGraph g;
  const std::string name = last.describe(g, seq.describe(g, "input"));
  REQUIRE(g.ops.size() == 6);
  CHECK(g.ops[0].op == "VariableV2");
  CHECK(g.ops[0].variable == "lstm1/kernel");
  CHECK(g.ops[1].shape == std::vector<int>{4 * 128});
  CHECK(g.ops[2].op == "LSTM");
  CHECK(g.ops[2].inputs == std::vector<std::string>{"input", "lstm1/kernel", "lstm1/bias"});
  CHECK(g.ops[2].shape == std::vector<int>{-1, 28, 128});
  CHECK(name == "lstm2/LSTM");
  CHECK(g.ops[5].shape == std::vector<int>{-1, 64});
}

TEST_CASE("Lstm forget-gate bias is 1 after initialise", "[layers]") {
  const int U = 5;
  Lstm lstm("lstm", Shape{1, 4, 3}, U, false);
  ParamLayout layout;
  lstm.declare(layout);
  std::vector<float> values(layout.total(), -7.0f);
  layout.initialise(values.data(), 9);
  const float* bias = values.data() + layout[layout.find("lstm/bias")].offset;
  for (int k = 0; k < 4 * U; ++k) {
    INFO("bias column " << k);
    CHECK(bias[k] == ((k >= U && k < 2 * U) ? 1.0f : 0.0f));
  }
  const ParamInfo& kernel = layout[layout.find("lstm/kernel")];
  const float a = 1.0f / std::sqrt(static_cast<float>(U));
  for (size_t k = 0; k < kernel.size(); ++k) {
    CHECK(std::abs(values[kernel.offset + k]) <= a);
  }
}

}  // namespace podlab
