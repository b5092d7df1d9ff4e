// The GUI's training thread: a command loop around engine's run_training().
#include "gui/training_session.h"

#include <algorithm>
#include <chrono>

#include "engine/train_defaults.h"
#include "engine/train_loop.h"
#include "engine/trainer.h"

namespace podlab::gui {
namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

struct TrainingSession::Model {
  std::unique_ptr<Trainer> trainer;
  TrainingStatus status;
  double wall_s = 0;  // training time before the current run segment
};

// Lives for one run_training() call. should_stop() is where the trainer waits while paused or
// speed-limited; it returns true only for reset and quit.
class TrainingSession::Observer : public LoopObserver {
 public:
  Observer(TrainingSession& s, Model& m) : s_(s), m_(m), t_run_(Clock::now()) {
    last_point_ = last_eval_ = last_weights_ = rate_t0_ = t_run_;
  }

  bool should_stop() override {
    {
      std::unique_lock<std::mutex> lock(s_.mu_);
      bool waited = false;
      for (;;) {
        if (s_.quit_ || s_.reset_pending_) return true;
        if (!s_.running_ && s_.steps_requested_ == 0) {
          if (!waited) publish_phase("paused");
          waited = true;
          pause_begin();
          s_.cv_.wait(lock);
          continue;
        }
        if (s_.running_ && s_.speed_limit_ > 0 && last_step_ != Clock::time_point{}) {
          const auto due = last_step_ + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(1.0 / s_.speed_limit_));
          if (Clock::now() < due) {
            s_.cv_.wait_until(lock, due);
            continue;
          }
        }
        break;
      }
      pause_end();
      single_step_ = !s_.running_;
      if (single_step_) --s_.steps_requested_;
    }
    m_.status.phase = single_step_ ? "paused" : "running";
    const auto now = Clock::now();
    if (seconds(now - last_eval_) >= std::max(s_.options_.eval_every_s, 10 * eval_cost_s_)) evaluate(now);
    if (seconds(now - last_weights_) >= s_.options_.weights_every_s) copy_weights(now);
    last_step_ = now;
    return false;
  }

  void on_progress(const ProgressReport& p) override {
    const auto now = Clock::now();
    m_.status.step = p.step;
    m_.status.epoch = p.epoch;
    m_.status.epoch_fraction = p.epoch_fraction;
    m_.status.learning_rate = p.learning_rate;
    m_.status.wall_s = wall(now);
    loss_sum_ += p.loss;
    acc_sum_ += p.accuracy;
    ++window_steps_;
    rate_steps_ += 1;
    rate_samples_ += m_.trainer->config().batch;
    const double rate_dt = seconds(now - rate_t0_) - rate_paused_s_;
    if (rate_dt >= 0.25) {
      m_.status.samples_per_s = rate_samples_ / rate_dt;
      m_.status.steps_per_s = rate_steps_ / rate_dt;
      rate_t0_ = now;
      rate_samples_ = rate_steps_ = 0;
      rate_paused_s_ = 0;
    }
    if (single_step_ || seconds(now - last_point_) >= s_.options_.point_every_s) emit_train_point(now);
  }

  Status on_epoch_end(const EpochReport& e) override {
    add_test_result(e.test, Clock::now());
    return Status::Ok();
  }

 private:
  double wall(Clock::time_point now) const { return m_.wall_s + seconds(now - t_run_) - paused_s_; }

  void pause_begin() {
    if (pause_t0_ == Clock::time_point{}) pause_t0_ = Clock::now();
  }
  void pause_end() {
    if (pause_t0_ == Clock::time_point{}) return;
    const double d = seconds(Clock::now() - pause_t0_);
    paused_s_ += d;
    rate_paused_s_ += d;
    pause_t0_ = {};
    last_step_ = {};
  }

  void publish_phase(const char* phase) {
    // Called with s_.mu_ held; the exchange has its own lock, never taken in the other order. The
    // trainer is about to wait anyway, so it waits for the lock here: a missed try-lock would leave
    // the pause (and the last points) unseen until training resumes.
    if (window_steps_ > 0) emit_train_point(Clock::now());
    m_.status.phase = phase;
    s_.out_.flush(m_.status);
  }

  void emit_train_point(Clock::time_point now) {
    if (window_steps_ == 0) return;
    m_.status.train_loss = loss_sum_ / window_steps_;
    m_.status.train_accuracy = acc_sum_ / window_steps_;
    const double step = static_cast<double>(m_.status.step), w = wall(now);
    const MetricPoint loss{step, w, m_.status.train_loss}, acc{step, w, m_.status.train_accuracy};
    s_.out_.publish(m_.status, Series::kTrainLoss, &loss, 1);
    s_.out_.publish(m_.status, Series::kTrainAccuracy, &acc, 1);
    loss_sum_ = acc_sum_ = 0;
    window_steps_ = 0;
    last_point_ = now;
  }

  // Live evaluations take at most about a tenth of the training time (a CNN's 1000-image evaluation
  // is a sizeable fraction of a second on two cores).
  void evaluate(Clock::time_point now) {
    add_test_result(m_.trainer->evaluate(s_.data_->test, s_.options_.eval_samples), now);
    eval_cost_s_ = seconds(Clock::now() - now);
  }

  void add_test_result(const EvalResult& r, Clock::time_point now) {
    m_.status.test_loss = r.loss;
    m_.status.test_accuracy = r.accuracy;
    m_.status.test_samples = r.samples;
    m_.status.confusion = r.confusion;
    m_.status.predicted = std::make_shared<const std::vector<uint8_t>>(r.predicted);
    const double step = static_cast<double>(m_.status.step), w = wall(now);
    const MetricPoint loss{step, w, r.loss}, acc{step, w, r.accuracy};
    s_.out_.publish(m_.status, Series::kTestLoss, &loss, 1);
    s_.out_.publish(m_.status, Series::kTestAccuracy, &acc, 1);
    last_eval_ = Clock::now();
  }

  void copy_weights(Clock::time_point now) {
    m_.status.weights = std::make_shared<const FloatBuffer>(m_.trainer->parameters());
    m_.status.weights_step = m_.status.step;
    s_.out_.publish(m_.status);
    last_weights_ = now;
  }

 public:
  void finish() { m_.wall_s = wall(Clock::now()); }

 private:
  TrainingSession& s_;
  Model& m_;
  const Clock::time_point t_run_;
  Clock::time_point last_point_, last_eval_, last_weights_, last_step_{}, pause_t0_{}, rate_t0_;
  double paused_s_ = 0, rate_paused_s_ = 0;
  double loss_sum_ = 0, acc_sum_ = 0;
  double eval_cost_s_ = 0;
  int window_steps_ = 0;
  double rate_steps_ = 0, rate_samples_ = 0;
  bool single_step_ = false;
};

TrainingSession::TrainingSession(SnapshotExchange& out, SessionOptions options)
    : out_(out), options_(std::move(options)), thread_([this] { thread_main(); }) {}

TrainingSession::~TrainingSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TrainingSession::reset(const GuiSetup& setup) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_setup_ = setup;
    reset_pending_ = true;
    running_ = false;
    steps_requested_ = 0;
    speed_limit_ = setup.speed_limit;
  }
  cv_.notify_all();
}

void TrainingSession::set_running(bool running) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = running;
  }
  cv_.notify_all();
}

bool TrainingSession::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void TrainingSession::step_once() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) ++steps_requested_;
  }
  cv_.notify_all();
}

void TrainingSession::set_speed_limit(double steps_per_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    speed_limit_ = steps_per_s > 0 ? steps_per_s : 0;
  }
  cv_.notify_all();
}

void TrainingSession::thread_main() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!quit_) {
    if (reset_pending_) {
      const GuiSetup setup = pending_setup_;
      reset_pending_ = false;
      lock.unlock();
      rebuild(setup);
      lock.lock();
      continue;
    }
    if (!model_ || !model_->trainer || !(running_ || steps_requested_ > 0)) {
      cv_.wait(lock);
      continue;
    }
    lock.unlock();
    Observer observer(*this, *model_);
    LoopOptions lo;
    lo.epochs = 1000000;  // the user stops training, not the loop
    lo.report_every = 1;  // the observer thins points out by time
    lo.eval_limit = options_.eval_samples;
    auto r = run_training(*model_->trainer, *data_, lo, observer);
    observer.finish();
    if (!r.ok()) {
      model_->status.phase = "error";
      model_->status.error = r.status().message();
      out_.flush(model_->status);
      model_->trainer.reset();
    }
    lock.lock();
  }
}

void TrainingSession::rebuild(const GuiSetup& setup) {
  ++generation_;
  model_ = std::make_unique<Model>();
  TrainingStatus& st = model_->status;
  st.generation = generation_;
  st.model_spec = setup.model;
  auto fail = [&](const Status& s) {
    st.phase = "error";
    st.error = s.message();
    out_.flush(st);
  };
  if (options_.fixed_data) {
    data_ = options_.fixed_data;
  } else {
    const std::string key = setup.dataset + "|" + std::to_string(setup.limit_train);
    if (!data_ || key != data_key_) {
      data_.reset();
      st.phase = "loading";
      out_.flush(st);
      auto choice = choose_dataset(setup.dataset, options_.data_dir);
      if (!choice.ok()) return fail(choice.status());
      auto data = load_dataset(choice->name, choice->dir, setup.limit_train, 0);
      if (!data.ok()) return fail(data.status());
      data_ = std::make_shared<const Dataset>(std::move(*data));
      data_key_ = key;
    }
  }
  st.data = data_;
  Status valid = validate_setup(setup);
  if (!valid.ok()) return fail(valid);
  auto spec = ModelSpec::parse(setup.model);
  TrainConfig tc;
  tc.model = *spec;
  tc.optimizer.name = setup.optimizer;
  tc.optimizer.lr = setup.lr;
  tc.batch = setup.batch;
  tc.threads = options_.threads;
  tc.seed = setup.seed;
  // As `podlab train`: the model's default decay once per epoch.
  const float decay = train_defaults(spec->kind).decay_per_epoch;
  if (decay != 1.0f) {
    tc.optimizer.schedule.kind = LrSchedule::Kind::kExponential;
    tc.optimizer.schedule.rate = decay;
    tc.optimizer.schedule.every = (data_->train.count + setup.batch - 1) / setup.batch;
  }
  auto trainer = Trainer::create(tc, data_->input_shape(), data_->num_classes);
  if (!trainer.ok()) return fail(trainer.status());
  model_->trainer = std::move(*trainer);
  // Step 0: the untrained model's test metrics and weights, so plots and the Inside panel start filled.
  const EvalResult r = model_->trainer->evaluate(data_->test, options_.eval_samples);
  st.test_loss = r.loss;
  st.test_accuracy = r.accuracy;
  st.test_samples = r.samples;
  st.confusion = r.confusion;
  st.predicted = std::make_shared<const std::vector<uint8_t>>(r.predicted);
  st.learning_rate = model_->trainer->optimizer().current_lr();
  st.weights = std::make_shared<const FloatBuffer>(model_->trainer->parameters());
  st.phase = "ready";
  const MetricPoint loss{0, 0, r.loss}, acc{0, 0, r.accuracy};
  out_.publish(st, Series::kTestLoss, &loss, 1);
  out_.publish(st, Series::kTestAccuracy, &acc, 1);
  out_.flush(st);
}

}  // namespace podlab::gui
