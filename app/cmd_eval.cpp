// `podlab eval` and `podlab predict`: use a saved checkpoint on the test set, on one test image, or on
// a PNG file (any size, grey or colour; dark-on-light drawings are inverted to MNIST's light-on-dark).
#include <stb_image.h>

#include <algorithm>
#include <cstdio>

#include "app/command.h"
#include "app/json_line.h"
#include "app/train_setup.h"
#include "engine/checkpoint.h"
#include "engine/loss.h"

namespace podlab {
namespace {

struct EvalFlags {
  std::string checkpoint, dataset, data_dir, image;
  int index = -1, limit_test = 0;
  bool json = false, confusion = false;
};

struct Loaded {
  Checkpoint ckpt;
  std::unique_ptr<Trainer> trainer;
};

Result<Loaded> load_model(const std::string& path) {
  auto ck = load_checkpoint(path);
  if (!ck.ok()) return ck.status();
  auto spec = ModelSpec::parse(ck->model_spec);
  if (!spec.ok()) return spec.status().With(path);
  TrainConfig tc;
  tc.model = *spec;
  tc.optimizer = ck->optimizer;
  tc.batch = ck->batch;
  tc.threads = 1;
  tc.seed = ck->seed;
  auto trainer = Trainer::create(tc, Shape{ck->input_h, ck->input_w, ck->input_c}, ck->classes);
  if (!trainer.ok()) return trainer.status().With(path);
  // Only the parameters matter for inference; a thread count different from training is fine.
  Checkpoint for_restore = *ck;
  for_restore.threads = 1;
  PODLAB_RETURN_IF_ERROR(restore_checkpoint(for_restore, **trainer).With(path));
  return Loaded{std::move(*ck), std::move(*trainer)};
}

Result<Dataset> load_test_data(const EvalFlags& f, const Checkpoint& ck) {
  auto choice = choose_dataset(f.dataset.empty() ? ck.dataset : f.dataset, f.data_dir);
  if (!choice.ok()) return choice.status();
  return load_dataset(choice->name, choice->dir, 1, f.limit_test);
}

int run_eval(const EvalFlags& f) {
  auto m = load_model(f.checkpoint);
  if (!m.ok()) return report(m.status());
  auto data = load_test_data(f, m->ckpt);
  if (!data.ok()) return report(data.status());
  const EvalResult r = m->trainer->evaluate(data->test);
  if (f.json || !stdout_is_terminal()) {
    JsonLine j;
    j.add("event", "result").add("test_accuracy", r.accuracy).add("test_loss", r.loss).add("test_samples", r.samples);
    j.add("model", m->ckpt.model_spec).add("dataset", data->name).add("step", m->ckpt.position.step);
    if (f.confusion) j.add("confusion", r.confusion);
    j.print();
  } else {
    std::printf("%s (step %lld) on %s: test accuracy %.4f, test loss %.4f over %d samples\n",
                m->ckpt.model_spec.c_str(), static_cast<long long>(m->ckpt.position.step), data->name.c_str(),
                r.accuracy, r.loss, r.samples);
    if (f.confusion) {
      const int k = data->num_classes;
      for (int t = 0; t < k; ++t) {
        for (int c = 0; c < k; ++c) std::printf("%6lld", static_cast<long long>(r.confusion[t * k + c]));
        std::printf("\n");
      }
    }
  }
  return 0;
}

// Reads a PNG/JPEG/... as grey, box-resamples it to h x w, scales to [0,1] and inverts dark-on-light.
Result<Matrix> load_image(const std::string& path, int h, int w) {
  int iw = 0, ih = 0, ch = 0;
  unsigned char* px = stbi_load(path.c_str(), &iw, &ih, &ch, 1);
  if (!px) return Status::Data(path + ": cannot read image (" + std::string(stbi_failure_reason()) + ")");
  Matrix x(1, h * w);
  double mean = 0;
  for (int y = 0; y < h; ++y)
    for (int xo = 0; xo < w; ++xo) {
      const int y0 = y * ih / h, y1 = std::max(y0 + 1, (y + 1) * ih / h);
      const int x0 = xo * iw / w, x1 = std::max(x0 + 1, (xo + 1) * iw / w);
      double s = 0;
      for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx) s += px[yy * iw + xx];
      x(0, y * w + xo) = static_cast<float>(s / ((y1 - y0) * (x1 - x0)) / 255.0);
      mean += x(0, y * w + xo);
    }
  stbi_image_free(px);
  if (mean / (h * w) > 0.5) x = (1.0f - x.array()).matrix();
  return x;
}

int run_predict(const EvalFlags& f) {
  if (f.image.empty() == (f.index < 0))
    return report(Status::Usage("predict needs exactly one of IMAGE (a PNG file) or --index N (a test image)"));
  auto m = load_model(f.checkpoint);
  if (!m.ok()) return report(m.status());
  const Checkpoint& ck = m->ckpt;
  Matrix x;
  int truth = -1;
  std::vector<std::string> names;
  if (f.index >= 0) {
    auto data = load_test_data(f, ck);
    if (!data.ok()) return report(data.status());
    if (f.index >= data->test.count)
      return report(Status::Usage("--index " + std::to_string(f.index) + " is out of range: the test set has " +
                                  std::to_string(data->test.count) + " images (0.." +
                                  std::to_string(data->test.count - 1) + ")"));
    data->test.gather(&f.index, 1, x, &truth);
    names = data->class_names;
  } else {
    auto img = load_image(f.image, ck.input_h, ck.input_w);
    if (!img.ok()) return report(img.status());
    x = std::move(*img);
    if (const DatasetInfo* info = find_dataset_info(ck.dataset)) names = info->class_names;
  }
  Matrix probs;
  m->trainer->predict(x, probs);
  Eigen::Index best = 0;
  probs.row(0).maxCoeff(&best);
  auto name = [&](int c) { return c < static_cast<int>(names.size()) ? names[c] : std::to_string(c); };
  if (f.json || !stdout_is_terminal()) {
    std::string p = "[";
    for (int c = 0; c < probs.cols(); ++c) p += (c ? "," : "") + JsonLine::number(probs(0, c));
    JsonLine j;
    j.add("event", "prediction").add("predicted", static_cast<int>(best)).add("label", name(static_cast<int>(best)));
    j.raw("probabilities", p + "]");
    if (truth >= 0) j.add("truth", truth);
    j.print();
  } else {
    for (int c = 0; c < probs.cols(); ++c) {
      const int bar = static_cast<int>(probs(0, c) * 40 + 0.5);
      std::printf("%c %d %-12.12s %6.2f%% %s\n", c == best ? '>' : ' ', c, name(c).c_str(), probs(0, c) * 100,
                  std::string(bar, '#').c_str());
    }
    std::printf("predicted: %d (%s)", static_cast<int>(best), name(static_cast<int>(best)).c_str());
    if (truth >= 0) std::printf(", true label: %d (%s)", truth, name(truth).c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void add_eval_commands(CLI::App& root, int& exit_code) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* eval = root.add_subcommand("eval", "Evaluate a checkpoint on the test set");
  eval->add_option("--checkpoint", f->checkpoint, "Checkpoint file (ckpt-<step>.podlab)")->required()->check(CLI::ExistingFile);
  eval->add_option("--dataset", f->dataset, "Dataset (default: the one the checkpoint was trained on)");
  eval->add_option("--data", f->data_dir, "Directory holding the dataset's IDX files");
  eval->add_option("--limit-test", f->limit_test, "Use only the first N test samples (0: all)")->check(non_negative());
  eval->add_flag("--json", f->json, "Print one JSON object");
  eval->add_flag("--confusion", f->confusion, "Print the confusion matrix");
  eval->callback([f, &exit_code] { exit_code = run_eval(*f); });

  CLI::App* predict = root.add_subcommand("predict", "Classify one image with a checkpoint");
  predict->add_option("--checkpoint", f->checkpoint, "Checkpoint file")->required()->check(CLI::ExistingFile);
  predict->add_option("image", f->image, "An image file (PNG, JPEG, BMP); resized to the model's input")
      ->check(CLI::ExistingFile);
  predict->add_option("--index", f->index, "Classify test image N instead")->check(non_negative());
  predict->add_option("--dataset", f->dataset, "Dataset for --index (default: the checkpoint's)");
  predict->add_option("--data", f->data_dir, "Directory holding the dataset's IDX files");
  predict->add_flag("--json", f->json, "Print one JSON object");
  predict->callback([f, &exit_code] { exit_code = run_predict(*f); });
}

}  // namespace podlab
