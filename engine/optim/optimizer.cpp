// SGD, Momentum and Adam, each one loop over the range.
#include "engine/optim/optimizer.h"

#include <cmath>
#include <cstdlib>

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

class Sgd : public Optimizer {
 public:
  Sgd(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 0) {}
  void step(float* p, const float* g) override {
    const float lr = current_lr();
    for (size_t i = 0; i < size_; ++i) p[i] -= lr * g[i];
    ++steps_;
  }
};

class Momentum : public Optimizer {
 public:
  Momentum(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 1) {}
  void step(float* p, const float* g) override {
    const float lr = current_lr(), mu = config_.momentum;
    float* v = slots_.data();
    for (size_t i = 0; i < size_; ++i) {
      v[i] = mu * v[i] + g[i];
      p[i] -= lr * v[i];
    }
    ++steps_;
  }
};

class Adam : public Optimizer {
 public:
  Adam(OptimizerConfig c, size_t n) : Optimizer(std::move(c), n, 2) {}
  void step(float* p, const float* g) override {
    ++steps_;
    const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
    // Bias correction folded into the step size, as in the paper's section 2 "efficient version".
    const double t = static_cast<double>(steps_);
    const float lr_t = static_cast<float>(config_.schedule.at(config_.lr, steps_ - 1) *
                                          std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
    float* m = slots_.data();
    float* v = slots_.data() + size_;
    for (size_t i = 0; i < size_; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      p[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
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
