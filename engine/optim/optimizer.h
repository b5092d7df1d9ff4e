// Optimisers: one step(params, grads) hook over a contiguous float range. The parameter servers run
// these same classes on their shard of the flat buffer, so an optimiser owns its slot state (momentum,
// Adam moments) for exactly `size` floats and nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"

namespace podlab {

// Learning rate as a function of the step: constant, exponential decay
// lr * rate^(step / every) ("exp:RATE:EVERY"), or piecewise halving ("step:EVERY": x0.5 each EVERY).
struct LrSchedule {
  enum class Kind { kConstant, kExponential, kStep } kind = Kind::kConstant;
  float rate = 1.0f;
  int64_t every = 1;
  float at(float base_lr, int64_t step) const;
  std::string to_string() const;
  static Result<LrSchedule> parse(const std::string& text);
};

struct OptimizerConfig {
  std::string name = "sgd";  // sgd | momentum | adam
  float lr = 0.1f;
  float momentum = 0.9f;     // momentum: v = mu v + g; p -= lr v       (Polyak 1964; TF MomentumOptimizer)
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;  // Adam (Kingma & Ba 2015)
  LrSchedule schedule;
  static Status validate_name(const std::string& name);
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params[i] -= update(grads[i]) for i < size(); advances the step counter.
  void step(float* params, const float* grads) {
    update_range(params, grads, 0, size_);
    finish_step();
  }
  // One step split over threads: each updates a disjoint range [lo, lo + n) with update_range, where
  // `params` and `grads` point at float lo; then one thread calls finish_step(). Ranges need not be
  // aligned, but starting them at multiples of kRangeAlign keeps threads off each other's cache lines.
  // Together bit-for-bit the same as step() over the whole buffer.
  virtual void update_range(float* params, const float* grads, size_t lo, size_t n) = 0;
  void finish_step() { ++steps_; }
  static constexpr size_t kRangeAlign = 16;
  size_t size() const { return size_; }
  int64_t steps() const { return steps_; }
  float current_lr() const { return config_.schedule.at(config_.lr, steps_); }
  const OptimizerConfig& config() const { return config_; }
  // Slot state for checkpoints: steps plus the slot vector (empty for plain SGD).
  std::vector<float>& slots() { return slots_; }
  const std::vector<float>& slots() const { return slots_; }
  // Slot floats per parameter (Adam 2, momentum 1, SGD 0), also when size() is 0.
  size_t slots_per_param() const { return slots_per_param_; }
  void set_steps(int64_t s) { steps_ = s; }

 protected:
  Optimizer(OptimizerConfig c, size_t size, size_t slots_per_param)
      : config_(std::move(c)), size_(size), slots_per_param_(slots_per_param), slots_(size * slots_per_param, 0.0f) {}
  OptimizerConfig config_;
  size_t size_;
  size_t slots_per_param_;
  int64_t steps_ = 0;
  std::vector<float> slots_;
};

// Builds the optimiser named in `config` for `size` floats.
Result<std::unique_ptr<Optimizer>> make_optimizer(const OptimizerConfig& config, size_t size);

}  // namespace podlab
