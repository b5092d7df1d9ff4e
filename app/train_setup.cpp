// Shared model/data flags and building a trainer from them.
#include "app/train_setup.h"

#include <cstdio>

#include "app/command.h"
#include "engine/train_defaults.h"

namespace podlab {

void add_setup_flags(CLI::App& cmd, SetupFlags& f) {
  cmd.add_option("--model", f.model, "Model spec: softmax, mlp:200,200[:relu|tanh|sigmoid], cnn, lstm:128x2")
      ->capture_default_str()
      ->each([&f](const std::string&) { f.model_given = true; });
  cmd.add_option("--dataset", f.dataset, "mnist or fashion-mnist (default: mnist if found, else fashion-mnist)");
  cmd.add_option("--data", f.data_dir, "Directory holding the dataset's IDX files (the only place looked when given)");
  cmd.add_option("--epochs", f.epochs, "Passes over the training set (default per model, see README)")
      ->check(CLI::Range(1, 100000));
  cmd.add_option("--batch", f.batch, "Mini-batch size (default per model)")->check(CLI::Range(1, 65536));
  cmd.add_option("--lr", f.lr, "Learning rate (default per model)")->check(positive());
  cmd.add_option("--optimizer", f.optimizer, "sgd, momentum or adam (default per model)")
      ->check(CLI::IsMember({"sgd", "momentum", "adam"}));
  cmd.add_option("--momentum", f.momentum, "Momentum coefficient for --optimizer momentum")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9999));
  cmd.add_option("--lr-schedule", f.lr_schedule,
                 "constant, exp:RATE:EVERY (lr*RATE^(step/EVERY)) or step:EVERY (default: the model's decay per epoch)");
  cmd.add_option("--threads", f.threads, "Compute threads (data-parallel over the batch)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd.add_option("--seed", f.seed, "Seed for initialisation, data order and dropout")->capture_default_str();
  cmd.add_option("--limit-train", f.limit_train, "Use only the first N training samples (0: all)")
      ->check(non_negative());
  cmd.add_option("--limit-test", f.limit_test, "Use only the first N test samples (0: all)")
      ->check(non_negative());
}

void apply_checkpoint_defaults(const Checkpoint& ck, SetupFlags& f) {
  if (!f.model_given) f.model = ck.model_spec;
  if (f.optimizer.empty()) f.optimizer = ck.optimizer.name;
  if (f.lr == 0) f.lr = ck.optimizer.lr;
  if (f.batch == 0) f.batch = ck.batch;
  if (f.dataset.empty()) f.dataset = ck.dataset;
  // A resumed run keeps its shuffle: the checkpoint's seed, whatever --seed says (said, not silent).
  if (f.seed != SetupFlags{}.seed && f.seed != ck.seed)
    std::fprintf(stderr, "podlab: note: --resume continues with the checkpoint's seed %llu; --seed %llu is ignored\n",
                 static_cast<unsigned long long>(ck.seed), static_cast<unsigned long long>(f.seed));
  f.seed = ck.seed;
  f.threads = ck.threads;
  f.momentum = ck.optimizer.momentum;
  f.lr_schedule = ck.optimizer.schedule.to_string();
  f.resume_optimizer = ck.optimizer;
}

Result<Setup> make_setup(SetupFlags& f) {
  auto spec = ModelSpec::parse(f.model);
  if (!spec.ok()) return spec.status();
  const TrainDefaults d = train_defaults(spec->kind);
  if (f.optimizer.empty()) f.optimizer = d.optimizer;
  if (f.lr == 0) f.lr = d.lr;
  if (f.batch == 0) f.batch = d.batch;
  if (f.epochs == 0) f.epochs = d.epochs;
  if (!f.lr_schedule.empty()) PODLAB_RETURN_IF_ERROR(LrSchedule::parse(f.lr_schedule).status());

  auto choice = choose_dataset(f.dataset, f.data_dir);
  if (!choice.ok()) return choice.status();
  auto data = f.shape_only ? load_dataset_shape(choice->name, choice->dir, f.limit_train, f.limit_test)
                           : load_dataset(choice->name, choice->dir, f.limit_train, f.limit_test);
  if (!data.ok()) return data.status();
  const bool default_schedule = f.lr_schedule.empty();
  if (default_schedule) {
    // The default decays per epoch, so it means the same for any batch size and dataset size.
    const int64_t steps_per_epoch = (data->train.count + f.batch - 1) / f.batch;
    f.lr_schedule = d.decay_per_epoch == 1.0f ? "constant"
                                              : "exp:" + std::to_string(d.decay_per_epoch) + ":" +
                                                    std::to_string(steps_per_epoch);
  }
  auto schedule = LrSchedule::parse(f.lr_schedule);
  if (!schedule.ok()) return schedule.status();

  TrainConfig tc;
  tc.model = *spec;
  if (f.resume_optimizer) tc.optimizer = *f.resume_optimizer;  // exact schedule, betas and epsilon
  tc.optimizer.name = f.optimizer;
  tc.optimizer.lr = f.lr;
  tc.optimizer.momentum = f.momentum;
  if (!f.resume_optimizer || f.lr_schedule != f.resume_optimizer->schedule.to_string()) tc.optimizer.schedule = *schedule;
  tc.batch = f.batch;
  tc.threads = f.threads;
  tc.seed = f.seed;
  auto trainer = Trainer::create(tc, data->input_shape(), data->num_classes);
  if (!trainer.ok()) return trainer.status();
  Setup s;
  s.data = std::move(*data);
  s.trainer = std::move(*trainer);
  s.default_schedule = default_schedule;
  return s;
}

}  // namespace podlab
