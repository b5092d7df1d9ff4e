// `podlab train`: headless training with a progress bar (terminal) or JSON lines (pipes, --json),
// TensorBoard/CSV logs, checkpoints every epoch and on Ctrl-C, and resume.
#include <csignal>
#include <cstdio>
#include <optional>

#include "app/command.h"
#include "app/json_line.h"
#include "app/progress_bar.h"
#include "engine/train_defaults.h"
#include "app/train_setup.h"
#include "engine/checkpoint.h"
#include "engine/log/scalar_logger.h"
#include "engine/train_loop.h"

namespace podlab {
namespace {

volatile std::sig_atomic_t g_stop_requested = 0;
void on_signal(int) { g_stop_requested = 1; }

struct TrainFlags {
  SetupFlags setup;
  std::string checkpoint_dir, log_dir;
  bool resume = false, json = false, confusion = false;
  int64_t max_steps = 0;
  int eval_limit = 0;
};

// Prints progress and epoch results, logs scalars, writes checkpoints.
class TrainObserver : public LoopObserver {
 public:
  TrainObserver(const TrainFlags& f, Trainer& t, const Dataset& d, ScalarLogger& log)
      : flags_(f), trainer_(t), data_(d), log_(log), terminal_(stdout_is_terminal() && !f.json) {}

  void on_progress(const ProgressReport& p) override {
    (void)log_.log("train/loss", static_cast<float>(p.loss), p.step);
    (void)log_.log("train/accuracy", static_cast<float>(p.accuracy), p.step);
    (void)log_.log("train/learning_rate", p.learning_rate, p.step);
    (void)log_.log("train/samples_per_s", static_cast<float>(p.samples_per_s), p.step);
    const double frac = p.total_steps ? static_cast<double>(p.step) / p.total_steps : 0;
    if (terminal_) {
      char suffix[160];
      std::snprintf(suffix, sizeof suffix, "loss %.4f  acc %.3f  %.0f samples/s", p.loss, p.accuracy, p.samples_per_s);
      const double eta = frac > 0 ? p.elapsed_s * (1 - frac) / frac : -1;
      draw_progress_bar(frac, eta, "epoch " + std::to_string(p.epoch + 1), suffix);
      bar_open_ = true;
    } else {
      JsonLine()
          .add("event", "progress")
          .add("epoch", p.epoch + 1)
          .add("step", p.step)
          .add("total_steps", p.total_steps)
          .add("loss", p.loss)
          .add("accuracy", p.accuracy)
          .add("learning_rate", static_cast<double>(p.learning_rate))
          .add("samples_per_s", p.samples_per_s)
          .add("elapsed_s", p.elapsed_s)
          .print();
    }
  }

  Status on_epoch_end(const EpochReport& e) override {
    (void)log_.log("test/loss", static_cast<float>(e.test.loss), e.step);
    (void)log_.log("test/accuracy", static_cast<float>(e.test.accuracy), e.step);
    if (terminal_) {
      if (bar_open_) finish_progress_bar();
      bar_open_ = false;
      std::printf("epoch %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.2f s, %.0f samples/s\n", e.epoch,
                  e.train_loss, e.train_accuracy, e.test.loss, e.test.accuracy, e.epoch_s, e.samples_per_s);
    } else {
      JsonLine()
          .add("event", "epoch")
          .add("epoch", e.epoch)
          .add("step", e.step)
          .add("train_loss", e.train_loss)
          .add("train_accuracy", e.train_accuracy)
          .add("test_loss", e.test.loss)
          .add("test_accuracy", e.test.accuracy)
          .add("epoch_s", e.epoch_s)
          .add("samples_per_s", e.samples_per_s)
          .print();
    }
    if (!flags_.checkpoint_dir.empty()) return save();
    return Status::Ok();
  }

  bool should_stop() override { return g_stop_requested != 0; }

  Status save() {
    const Checkpoint ck = capture_checkpoint(trainer_, data_.name, data_.input_shape(), data_.num_classes);
    auto path = save_checkpoint_in_dir(flags_.checkpoint_dir, ck);
    if (!path.ok()) return path.status();
    last_checkpoint_ = *path;
    return Status::Ok();
  }
  const std::string& last_checkpoint() const { return last_checkpoint_; }
  void close_bar() {
    if (bar_open_) finish_progress_bar();
    bar_open_ = false;
  }

 private:
  const TrainFlags& flags_;
  Trainer& trainer_;
  const Dataset& data_;
  ScalarLogger& log_;
  bool terminal_;
  bool bar_open_ = false;
  std::string last_checkpoint_;
};

// The model graph as TensorBoard GraphDef nodes (name scopes become collapsible groups).
std::vector<GraphNode> graph_nodes(const Network& net) {
  std::vector<GraphNode> nodes;
  for (const GraphOp& op : net.describe().ops) nodes.push_back(GraphNode{op.name, op.op, op.inputs, ""});
  return nodes;
}

void print_confusion(const EvalResult& r, const Dataset& d) {
  const int k = d.num_classes;
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%14s", "");
  for (int c = 0; c < k; ++c) std::printf("%6d", c);
  std::printf("\n");
  for (int t = 0; t < k; ++t) {
    std::string name = t < static_cast<int>(d.class_names.size()) ? d.class_names[t] : std::to_string(t);
    std::printf("%2d %-11.11s", t, name.c_str());
    for (int c = 0; c < k; ++c) std::printf("%6lld", static_cast<long long>(r.confusion[t * k + c]));
    std::printf("\n");
  }
}

int run_train(TrainFlags& f) {
  std::optional<Checkpoint> resume_from;
  if (f.resume) {
    if (f.checkpoint_dir.empty()) return report(Status::Usage("--resume needs --checkpoint-dir DIR"));
    auto latest = latest_checkpoint(f.checkpoint_dir);
    if (!latest.ok()) return report(latest.status());
    auto ck = load_checkpoint(*latest);
    if (!ck.ok()) return report(ck.status());
    resume_from = std::move(*ck);
    apply_checkpoint_defaults(*resume_from, f.setup);
  } else if (!f.checkpoint_dir.empty()) {
    Status st = prepare_fresh_checkpoint_dir(f.checkpoint_dir);
    if (!st.ok()) return report(st);
  }
  auto setup = make_setup(f.setup);
  if (!setup.ok()) return report(setup.status());
  Dataset& data = setup->data;
  Trainer& trainer = *setup->trainer;
  if (resume_from) {
    Status st = restore_checkpoint(*resume_from, trainer);
    if (!st.ok()) return report(st);
  }

  ScalarLogger logger;
  if (!f.log_dir.empty()) {
    auto lg = ScalarLogger::open(f.log_dir);
    if (!lg.ok()) return report(lg.status());
    logger = std::move(*lg);
    if (resume_from) (void)logger.log_session_start(trainer.position().step);
    else if (logger.events()) (void)logger.events()->add_graph(serialize_graph_def(graph_nodes(trainer.network())), 0);
  }

  const bool terminal = stdout_is_terminal() && !f.json;
  const TrainConfig& c = trainer.config();
  const Network& net = trainer.network();
  if (terminal) {
    std::printf("podlab train: %s on %s (%s), %zu parameters, %.2f MFLOP/sample forward\n",
                c.model.to_string().c_str(), data.name.c_str(), data.dir.c_str(), trainer.layout().parameter_count(),
                net.forward_flops_per_sample() / 1e6);
    std::printf("  %s lr %g, batch %d, %d epochs, %d thread(s), seed %llu%s\n", c.optimizer.name.c_str(),
                c.optimizer.lr, c.batch, f.setup.epochs, c.threads, static_cast<unsigned long long>(c.seed),
                resume_from ? (", resumed at step " + std::to_string(trainer.position().step)).c_str() : "");
  } else {
    JsonLine()
        .add("event", "start")
        .add("model", c.model.to_string())
        .add("dataset", data.name)
        .add("data_dir", data.dir)
        .add("parameters", static_cast<int64_t>(trainer.layout().parameter_count()))
        .add("flops_per_sample", net.forward_flops_per_sample())
        .add("optimizer", c.optimizer.name)
        .add("lr", static_cast<double>(c.optimizer.lr))
        .add("batch", c.batch)
        .add("epochs", f.setup.epochs)
        .add("threads", c.threads)
        .add("seed", static_cast<int64_t>(c.seed))
        .add("resumed_step", trainer.position().step)
        .print();
  }

  g_stop_requested = 0;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  TrainObserver observer(f, trainer, data, logger);
  LoopOptions lo;
  lo.epochs = f.setup.epochs;
  lo.max_steps = f.max_steps;
  lo.eval_limit = f.eval_limit;
  lo.report_every = terminal ? 20 : 100;
  auto result = run_training(trainer, data, lo, observer);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  observer.close_bar();
  if (!result.ok()) return report(result.status());

  if (result->interrupted) {
    if (f.checkpoint_dir.empty()) f.checkpoint_dir = "podlab-interrupted";
    Status st = observer.save();
    if (!st.ok()) return report(st.With("interrupted, and saving the checkpoint failed"));
    std::fprintf(stderr, "podlab: interrupted at step %lld; saved %s\nresume with: podlab train --checkpoint-dir %s --resume\n",
                 static_cast<long long>(result->steps), observer.last_checkpoint().c_str(), f.checkpoint_dir.c_str());
  } else if (!f.checkpoint_dir.empty() && trainer.position().batch_in_epoch != 0) {
    Status st = observer.save();
    if (!st.ok()) return report(st);
  }

  const EvalResult& test = result->last_test;
  if (terminal) {
    if (f.confusion) print_confusion(test, data);
    std::printf("test accuracy: %.4f  (test loss %.4f, %lld steps, %.1f s)\n", test.accuracy, test.loss,
                static_cast<long long>(result->steps), result->seconds);
  } else {
    JsonLine j;
    j.add("event", "result")
        .add("test_accuracy", test.accuracy)
        .add("test_loss", test.loss)
        .add("test_samples", test.samples)
        .add("epochs", result->epochs_completed)
        .add("steps", result->steps)
        .add("seconds", result->seconds)
        .add("samples_per_s", result->train_samples_per_s)
        .add("interrupted", result->interrupted)
        .add("model", c.model.to_string())
        .add("dataset", data.name);
    if (!observer.last_checkpoint().empty()) j.add("checkpoint", observer.last_checkpoint());
    if (f.confusion) j.add("confusion", test.confusion);
    j.print();
    if (f.confusion && !f.json) print_confusion(test, data);
  }
  return result->interrupted ? static_cast<int>(StatusCode::kInterrupted) : 0;
}

}  // namespace

void add_train_commands(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* train = root.add_subcommand("train", "Train a model headless and report test accuracy");
  add_setup_flags(*train, flags->setup);
  train->add_option("--checkpoint-dir", flags->checkpoint_dir, "Save a checkpoint here after every epoch (keeps the last 3)");
  train->add_flag("--resume", flags->resume, "Continue from the newest checkpoint in --checkpoint-dir");
  train->add_option("--log-dir", flags->log_dir, "Write TensorBoard event files and scalars.csv here");
  train->add_flag("--json", flags->json, "Print one JSON object per line, even on a terminal");
  train->add_flag("--confusion", flags->confusion, "Print the test confusion matrix at the end");
  train->add_option("--max-steps", flags->max_steps, "Stop after this many steps in total (0: no limit)")
      ->check(non_negative());
  train->add_option("--eval-limit", flags->eval_limit, "Evaluate on at most this many test samples (0: all)")
      ->check(non_negative());
  train->callback([flags, &exit_code] { exit_code = run_train(*flags); });
}

}  // namespace podlab
