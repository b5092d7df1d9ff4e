// The epoch loop.
#include "engine/train_loop.h"

#include <chrono>
#include <cmath>
#include <string>

namespace podlab {

Status diverged(int64_t step, double loss) {
  return Status::Config("training diverged at step " + std::to_string(step) + ": the loss is " +
                        (std::isnan(loss) ? "nan" : "infinite") +
                        ", and every step from here on would only carry it on; lower the learning rate (--lr)");
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<LoopResult> run_training(Trainer& trainer, const Dataset& data, const LoopOptions& options,
                                LoopObserver& observer) {
  if (options.epochs < 1 && options.max_steps <= 0) return Status::Usage("epochs must be at least 1");
  if (data.train.count == 0) return Status::Data("the training split is empty");
  const auto t0 = std::chrono::steady_clock::now();
  const int per_epoch = trainer.batches_per_epoch(data.train);
  int64_t total = static_cast<int64_t>(per_epoch) * options.epochs;
  if (options.max_steps > 0 && (options.epochs < 1 || options.max_steps < total)) total = options.max_steps;

  LoopResult result;
  int64_t samples_total = 0;
  double window_loss = 0, window_acc = 0, epoch_loss = 0, epoch_acc = 0;
  int window_steps = 0, epoch_steps = 0, epoch_samples = 0;
  auto window_t0 = t0, epoch_t0 = t0;
  int window_samples = 0;

  while (trainer.position().step < total) {
    if (observer.should_stop()) {
      result.interrupted = true;
      break;
    }
    const StepResult st = trainer.step(data.train);
    if (!std::isfinite(st.loss)) return diverged(trainer.position().step, st.loss);
    samples_total += st.samples;
    window_loss += st.loss;
    window_acc += st.accuracy;
    epoch_loss += st.loss;
    epoch_acc += st.accuracy;
    ++window_steps;
    ++epoch_steps;
    window_samples += st.samples;
    epoch_samples += st.samples;
    const TrainPosition& pos = trainer.position();
    const bool epoch_done = pos.batch_in_epoch == 0;

    if (window_steps >= options.report_every || epoch_done || pos.step == total) {
      ProgressReport p;
      p.step = pos.step;
      p.total_steps = total;
      p.epoch = epoch_done ? pos.epoch - 1 : pos.epoch;
      p.epoch_fraction = epoch_done ? 1.0 : static_cast<double>(pos.batch_in_epoch) / per_epoch;
      p.loss = window_loss / window_steps;
      p.accuracy = window_acc / window_steps;
      const double dt = seconds_since(window_t0);
      p.samples_per_s = dt > 0 ? window_samples / dt : 0;
      p.elapsed_s = seconds_since(t0);
      p.learning_rate = trainer.optimizer().current_lr();
      observer.on_progress(p);
      window_loss = window_acc = 0;
      window_steps = window_samples = 0;
      window_t0 = std::chrono::steady_clock::now();
    }
    if (epoch_done) {
      EpochReport e;
      e.epoch = pos.epoch;
      e.step = pos.step;
      e.train_loss = epoch_loss / epoch_steps;
      e.train_accuracy = epoch_acc / epoch_steps;
      e.epoch_s = seconds_since(epoch_t0);
      e.samples_per_s = e.epoch_s > 0 ? epoch_samples / e.epoch_s : 0;
      e.test = trainer.evaluate(data.test, options.eval_limit);
      e.elapsed_s = seconds_since(t0);
      result.last_test = e.test;
      result.epochs_completed = pos.epoch;
      PODLAB_RETURN_IF_ERROR(observer.on_epoch_end(e));
      epoch_loss = epoch_acc = 0;
      epoch_steps = epoch_samples = 0;
      epoch_t0 = std::chrono::steady_clock::now();
    }
  }
  result.steps = trainer.position().step;
  result.epochs_completed = trainer.position().epoch;
  if (result.last_test.samples == 0 || trainer.position().batch_in_epoch != 0)
    result.last_test = trainer.evaluate(data.test, options.eval_limit);
  result.seconds = seconds_since(t0);
  result.train_samples_per_s = result.seconds > 0 ? samples_total / result.seconds : 0;
  return result;
}

}  // namespace podlab
