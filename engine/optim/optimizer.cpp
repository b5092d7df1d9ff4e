// SGD, Momentum and Adam, each one loop over the range.
#include "engine/optim/optimizer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#if defined(__SSE2__)
#include <pmmintrin.h>  // _MM_DENORMALS_ZERO_MASK
#include <xmmintrin.h>  // _mm_getcsr, _MM_FLUSH_ZERO_MASK
#endif

namespace podlab {

float LrSchedule::at(float base_lr, int64_t step) const {
  switch (kind) {
    case Kind::kConstant: return base_lr;
    case Kind::kExponential:
      return base_lr * std::pow(rate, static_cast<float>(step) / static_cast<float>(every));
    case Kind::kStep: return base_lr * std::pow(0.5f, static_cast<float>(step / every));
  }
  return base_lr;
}

std::string LrSchedule::to_string() const {
  switch (kind) {
    case Kind::kConstant: return "constant";
    case Kind::kExponential: return "exp:" + std::to_string(rate) + ":" + std::to_string(every);
    case Kind::kStep: return "step:" + std::to_string(every);
  }
  return "?";
}

Result<LrSchedule> LrSchedule::parse(const std::string& text) {
  LrSchedule s;
  const std::string hint = " (expected constant, exp:RATE:EVERY such as exp:0.96:1000, or step:EVERY)";
  if (text.empty() || text == "constant") return s;
  char* end = nullptr;
  if (text.rfind("exp:", 0) == 0) {
    const char* p = text.c_str() + 4;
    s.kind = Kind::kExponential;
    s.rate = std::strtof(p, &end);
    if (end == p || *end != ':' || !(s.rate > 0.0f && s.rate <= 1.0f))
      return Status::Usage("bad learning-rate schedule '" + text + "': RATE must be in (0, 1]" + hint);
    const char* q = end + 1;
    s.every = std::strtoll(q, &end, 10);
    if (end == q || *end || s.every <= 0)
      return Status::Usage("bad learning-rate schedule '" + text + "': EVERY must be a positive integer" + hint);
    return s;
  }
  if (text.rfind("step:", 0) == 0) {
    const char* q = text.c_str() + 5;
    s.kind = Kind::kStep;
    s.every = std::strtoll(q, &end, 10);
    if (end == q || *end || s.every <= 0)
      return Status::Usage("bad learning-rate schedule '" + text + "': EVERY must be a positive integer" + hint);
    return s;
  }
  return Status::Usage("unknown learning-rate schedule '" + text + "'" + hint);
}

Status OptimizerConfig::validate_name(const std::string& name) {
  if (name == "sgd" || name == "momentum" || name == "adam") return Status::Ok();
  return Status::Usage("unknown optimizer '" + name + "' (expected sgd, momentum or adam)");
}

namespace {

// Slots (Adam's moments, momentum's velocity) decay geometrically while their variable gets zero
// gradient (weights from an always-black pixel, or into a dead ReLU). They then turn subnormal and
// stick there, since 0.9 times the smallest subnormal rounds back to it, and subnormal arithmetic is
// some 100x slower on x86: Adam over such slots made every epoch after the first 2-3x slower. So the
// stateful optimisers step with subnormals flushed to zero (results and inputs, MXCSR FTZ and DAZ),
// and put the caller's floating-point mode back afterwards. Values of normal size are unaffected.
class FlushSubnormals {
 public:
#if defined(__SSE2__)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | _MM_FLUSH_ZERO_MASK | _MM_DENORMALS_ZERO_MASK); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
  FlushSubnormals() {}  // elsewhere the floating-point mode is left alone
#endif
};

// Adam runs in blocks of 16 floats as fixed-size Eigen arrays: std::sqrt in a plain loop does not
// vectorise (it may set errno), Eigen's packet sqrt does (about 3.5x faster here; the loop is then
// bound by memory). A short tail is padded to a whole block, so every float goes through the same
// instructions wherever it sits in the range: a parameter-server shard updates its floats bit-for-bit
// as an optimiser over the whole buffer does. Eigen's packet sqrt is its fast-math one (rsqrt and a
// Newton step), within an ulp or so of std::sqrt.
using Block = Eigen::Array<float, 16, 1>;
constexpr size_t kBlock = 16;

struct AdamCoefficients {
  float b1, b2, eps, lr_t;
};

// GCC 12 warns (wrongly) that _mm512_rsqrt14_ps, inlined from Eigen's sqrt, reads an uninitialised
// value: its header passes _mm512_undefined_ps() as the unused merge source.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline void adam_block(const AdamCoefficients& c, float* p, const float* g, float* m, float* v) {
  Eigen::Map<Block> pb(p), mb(m), vb(v);
  const Eigen::Map<const Block> gb(g);
  mb = c.b1 * mb + (1.0f - c.b1) * gb;
  vb = c.b2 * vb + (1.0f - c.b2) * gb * gb;
  pb -= c.lr_t * mb / (vb.sqrt() + c.eps);
}
#pragma GCC diagnostic pop

class Sgd : public Optimizer {
 public:
  Sgd(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 0) {}
  void update_range(float* p, const float* g, size_t /*lo*/, size_t n) override {
    const float lr = current_lr();
    for (size_t i = 0; i < n; ++i) p[i] -= lr * g[i];
  }
};

class Momentum : public Optimizer {
 public:
  Momentum(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 1) {}
  void update_range(float* p, const float* g, size_t lo, size_t n) override {
    const FlushSubnormals flush;
    const float lr = current_lr(), mu = config_.momentum;
    float* v = slots_.data() + lo;
    for (size_t i = 0; i < n; ++i) {
      v[i] = mu * v[i] + g[i];
      p[i] -= lr * v[i];
    }
  }
};

class Adam : public Optimizer {
 public:
  Adam(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 2) {}
  void update_range(float* p, const float* g, size_t lo, size_t n) override {
    const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
    // Bias correction folded into the step size, as in the paper's section 2 "efficient version";
    // t counts this step (steps_ advances in finish_step).
    const double t = static_cast<double>(steps_ + 1);
    const float lr_t = static_cast<float>(config_.schedule.at(config_.lr, steps_) *
                                          std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
    const AdamCoefficients c{b1, b2, eps, lr_t};
    const FlushSubnormals flush;
    float* m = slots_.data() + lo;
    float* v = slots_.data() + size_ + lo;
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) adam_block(c, p + i, g + i, m + i, v + i);
    if (i < n) {  // the tail, through a zero-padded block
      float tp[kBlock] = {}, tg[kBlock] = {}, tm[kBlock] = {}, tv[kBlock] = {};
      const size_t tail = n - i;
      std::copy(p + i, p + n, tp);
      std::copy(g + i, g + n, tg);
      std::copy(m + i, m + n, tm);
      std::copy(v + i, v + n, tv);
      adam_block(c, tp, tg, tm, tv);
      std::copy(tp, tp + tail, p + i);
      std::copy(tm, tm + tail, m + i);
      std::copy(tv, tv + tail, v + i);
    }
  }
};

}  // namespace

Result<std::unique_ptr<Optimizer>> make_optimizer(const OptimizerConfig& config, size_t size) {
  PODLAB_RETURN_IF_ERROR(OptimizerConfig::validate_name(config.name));
  if (!(config.lr > 0.0f)) return Status::Usage("learning rate must be > 0 (got " + std::to_string(config.lr) + ")");
  std::unique_ptr<Optimizer> opt;
  if (config.name == "sgd") opt = std::make_unique<Sgd>(config, size);
  else if (config.name == "momentum") opt = std::make_unique<Momentum>(config, size);
  else opt = std::make_unique<Adam>(config, size);
  return opt;
}

}  // namespace podlab
