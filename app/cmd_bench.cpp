// `podlab bench`: times training epochs and inference on Fashion-MNIST and reports, per work item,
// the median and min-max epoch time, samples/s, GFLOP/s, the fraction of this core's FMA peak
// (measured here with a short loop) and the peak resident memory. bench/compare.py runs it beside the
// PyTorch reference (../shared/bench/torch_fmnist.py), so the work items, hyper-parameters and FLOP
// convention follow that script.
//
// [SECTION] index
//   work items       "mlp-b100-t2" -> model, batch, threads, learning rate, steps
//   FLOP convention  the one place where FLOPs per sample are counted
//   FMA peak         a register-only loop of independent fused multiply-adds
//   timing           training repetitions and inference passes
//   output           table row or JSON line per item; each item runs in a forked child
//   registration
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include "app/command.h"
#include "app/json_line.h"
#include "app/train_setup.h"
#include "engine/parallel.h"

namespace podlab {
namespace {

// ---- [SECTION] work items ----

struct BenchFlags {
  std::string work = "mlp-b100,mlp-b32,mlp-b100-t2,cnn-b50,infer";
  std::string data_dir;
  int threads = 1, repeat = 3, steps = 0;
  uint64_t seed = 1;
  bool json = false;
};

struct WorkItem {
  std::string name;
  bool infer = false;
  std::string model;   // a ModelSpec string
  int batch = 0, threads = 1;
  int steps = 0;       // training steps per timed repetition; 0: a full epoch
  float lr = 0;        // plain SGD, constant rate (as the reference invocations)
};

bool parse_count(const std::string& s, int* out) {
  if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoi(s);
  return *out > 0;
}

// NAME is mlp | cnn | infer, then optional -bBATCH and -tTHREADS parts: mlp-b32, cnn-b50-t2, infer-b1000.
Result<WorkItem> parse_work(const std::string& name, const BenchFlags& f) {
  if (name.empty()) return Status::Usage("--work has an empty item (expected a comma-separated list, e.g. mlp-b100,infer)");
  WorkItem w;
  w.name = name;
  w.threads = f.threads;
  size_t dash = name.find('-');
  const std::string head = name.substr(0, dash);
  if (head == "mlp") {
    w.model = "mlp:200,200", w.batch = 100, w.lr = 0.1f;
  } else if (head == "cnn") {
    w.model = "cnn", w.batch = 50, w.lr = 0.05f, w.steps = 200;
  } else if (head == "infer") {
    w.model = "mlp:200,200", w.batch = 1000, w.infer = true;
  } else {
    return Status::Usage("unknown work item '" + name + "' (expected mlp, cnn or infer, then -bBATCH, -tTHREADS)");
  }
  while (dash != std::string::npos) {
    const size_t next = name.find('-', dash + 1);
    const std::string part = name.substr(dash + 1, next == std::string::npos ? std::string::npos : next - dash - 1);
    int* target = part.empty() ? nullptr : part[0] == 'b' ? &w.batch : part[0] == 't' ? &w.threads : nullptr;
    if (!target || !parse_count(part.substr(1), target))
      return Status::Usage("work item '" + name + "': bad part '" + part + "' (expected bBATCH or tTHREADS)");
    dash = next;
  }
  if (!w.infer && f.steps > 0) w.steps = f.steps;
  return w;
}

Result<std::vector<WorkItem>> parse_work_list(const BenchFlags& f) {
  std::vector<WorkItem> items;
  size_t start = 0;
  while (start <= f.work.size()) {
    const size_t comma = f.work.find(',', start);
    auto w = parse_work(f.work.substr(start, comma - start), f);
    if (!w.ok()) return w.status();
    items.push_back(*w);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

// ---- [SECTION] FLOP convention ----

// FLOPs per sample as torch_fmnist.py's train_flops_per_sample counts them, so GFLOP/s compare across
// the two: 2 x the multiply-adds of GEMMs and convolutions only (activations, pooling, softmax and the
// optimiser are free). Forward: every layer's MACs. Backward: the weight gradient of every layer (as
// many MACs as its forward) plus the input gradient of every layer but the first, which nothing needs.
// MLP 784-200-200-10: forward 198,800 MACs, backward 198,800 + 42,000, so 879,200 FLOPs per training
// sample and 397,600 per inference sample.
struct FlopCount {
  int64_t forward = 0, train = 0;
};

FlopCount reference_flops(const ModelSpec& spec, Shape in, int classes) {
  std::vector<int64_t> macs;  // per GEMM/conv layer, in order
  if (spec.kind == ModelSpec::Kind::kMlp) {
    int64_t width = in.size();
    for (int units : spec.hidden) macs.push_back(width * units), width = units;
    macs.push_back(width * classes);
  } else if (spec.kind == ModelSpec::Kind::kCnn) {  // conv 5x5x32, pool 2, conv 5x5x64, pool 2, fc 1024, fc
    const int64_t h = in.h, w = in.w;
    macs = {h * w * 32 * 25 * in.c, (h / 2) * (w / 2) * 64 * 25 * 32, (h / 4) * (w / 4) * 64 * 1024,
            1024LL * classes};
  }
  FlopCount f;
  for (size_t i = 0; i < macs.size(); ++i) {
    f.forward += 2 * macs[i];
    f.train += 2 * (2 * macs[i] + (i > 0 ? macs[i] : 0));
  }
  return f;
}

// ---- [SECTION] FMA peak ----

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
constexpr const char* kIsa = "AVX-512";
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vec_set(float x) { return _mm512_set1_ps(x); }
#elif defined(__AVX__) && defined(__FMA__)
using Vec = __m256;
constexpr int kLanes = 8;
constexpr const char* kIsa = "AVX2";
inline Vec vec_fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vec_set(float x) { return _mm256_set1_ps(x); }
#else
using Vec = float;
constexpr int kLanes = 1;
constexpr const char* kIsa = "scalar, no FMA";
inline Vec vec_fma(Vec a, Vec b, Vec c) { return a * b + c; }
inline Vec vec_set(float x) { return x; }
#endif

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// 16 independent accumulators: an FMA has a latency of about 4 cycles and a core issues up to 2 per
// cycle, so at least 8 chains are needed to keep both units busy. x -> 0.999 x + 0.001 stays near 1,
// far from denormals and overflow. Returns seconds for `iters` rounds of 16 vector FMAs; the chains'
// results go to the volatile `sink`, so the compiler cannot drop any of them.
double fma_loop_seconds(int64_t iters, volatile float* sink) {
  constexpr int kChains = 16;
  Vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vec_set(1.0f + 0.01f * i);
  const Vec b = vec_set(0.999f), c = vec_set(0.001f);
  const auto t0 = Clock::now();
  for (int64_t n = 0; n < iters; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = vec_fma(acc[i], b, c);
  }
  const double s = seconds_since(t0);
  float out[kLanes];
  for (int i = 0; i < kChains; ++i) {
    std::memcpy(out, &acc[i], sizeof out);
    *sink = *sink + out[0];
  }
  return s;
}

// GFLOP/s of one core (2 FLOPs per lane per FMA): the best of 50 trials of about 2 ms each. Short
// trials, because on a shared machine a trial that the scheduler did not interrupt is what shows the
// core's peak; the first trials also absorb the clock's switch to wide-vector frequencies.
double measure_fma_peak_gflops() {
  volatile float sink = 0;
  int64_t iters = 1 << 10;
  while (fma_loop_seconds(iters, &sink) < 0.002 && iters < (int64_t{1} << 40)) iters *= 2;
  double best = 0;
  for (int trial = 0; trial < 50; ++trial) best = std::max(best, iters / fma_loop_seconds(iters, &sink));
  const double flops_per_iter = 16.0 * kLanes * 2;
  return best * flops_per_iter / 1e9;
}

// ---- [SECTION] timing ----

struct Timing {
  std::vector<double> seconds;  // one per repetition
  int64_t samples = 0;          // processed per repetition
  int steps = 0, full_steps = 0;  // batches per repetition, and in a full pass over the split
  double loss = -1;             // mean training loss over the last repetition (training only)
  FlopCount flops;              // per sample
};

SetupFlags setup_flags(const WorkItem& w, const BenchFlags& f) {
  SetupFlags s;
  s.model = w.model;
  s.model_given = true;
  s.dataset = "fashion-mnist";
  s.data_dir = f.data_dir;
  s.optimizer = "sgd";
  s.lr = w.infer ? 0.1f : w.lr;
  s.lr_schedule = "constant";
  s.batch = w.batch;
  s.epochs = 1;
  s.threads = w.threads;
  s.seed = f.seed;
  if (w.infer) s.limit_train = 1;  // inference needs only the test set; keep the training set out of RSS
  return s;
}

Result<Timing> time_training(const WorkItem& w, const BenchFlags& f) {
  SetupFlags sf = setup_flags(w, f);
  auto setup = make_setup(sf);
  if (!setup.ok()) return setup.status();
  Trainer& t = *setup->trainer;
  const Split& train = setup->data.train;
  Timing tm;
  tm.flops = reference_flops(t.config().model, setup->data.input_shape(), setup->data.num_classes);
  tm.full_steps = t.batches_per_epoch(train);
  tm.steps = w.steps > 0 ? std::min(w.steps, tm.full_steps) : tm.full_steps;
  for (int r = 0; r < f.repeat; ++r) {
    // Each repetition starts a new epoch (a fresh shuffle), as the reference's --max-steps does.
    const TrainPosition p = t.position();
    if (p.batch_in_epoch != 0) t.set_position(TrainPosition{p.step, p.epoch + 1, 0});
    double loss = 0;
    int64_t n = 0;
    const auto t0 = Clock::now();
    for (int s = 0; s < tm.steps; ++s) {
      const StepResult res = t.step(train);
      loss += res.loss * res.samples;
      n += res.samples;
    }
    tm.seconds.push_back(seconds_since(t0));
    tm.samples = n;
    tm.loss = loss / n;
  }
  return tm;
}

// Forward passes over the whole test set at batch w.batch, logits only (no softmax), as the reference
// does under torch.no_grad(). The test set is converted to float beforehand, as the reference holds
// it as a float tensor. With T threads, each batch is cut into T row slices, one network per thread.
Result<Timing> time_inference(const WorkItem& w, const BenchFlags& f) {
  SetupFlags sf = setup_flags(w, f);
  auto setup = make_setup(sf);
  if (!setup.ok()) return setup.status();
  const Dataset& data = setup->data;
  Trainer& t = *setup->trainer;
  const int threads = w.threads, count = data.test.count;
  std::vector<std::unique_ptr<Network>> nets;
  for (int r = 0; r < threads; ++r) {
    auto net = Network::build(t.config().model, data.input_shape(), data.num_classes);
    if (!net.ok()) return net.status();
    (*net)->bind(t.parameters().data(), nullptr);
    nets.push_back(std::move(*net));
  }
  std::vector<std::vector<Matrix>> x;  // x[batch][thread]: that thread's rows of the batch
  std::vector<int> idx, labels;
  for (int start = 0; start < count; start += w.batch) {
    const int n = std::min(w.batch, count - start);
    x.emplace_back(threads);
    for (int r = 0; r < threads; ++r) {
      const int lo = n * r / threads, hi = n * (r + 1) / threads;
      idx.resize(hi - lo), labels.resize(hi - lo);
      std::iota(idx.begin(), idx.end(), start + lo);
      data.test.gather(idx.data(), hi - lo, x.back()[r], labels.data());
    }
  }
  ThreadPool pool(threads);
  size_t b = 0;
  const std::function<void(int)> forward = [&](int r) { nets[r]->forward(x[b][r], false); };
  Timing tm;
  tm.flops = reference_flops(t.config().model, data.input_shape(), data.num_classes);
  tm.steps = tm.full_steps = static_cast<int>(x.size());
  tm.samples = count;
  for (int rep = 0; rep < f.repeat; ++rep) {
    const auto t0 = Clock::now();
    for (b = 0; b < x.size(); ++b) pool.run(threads, forward);
    tm.seconds.push_back(seconds_since(t0));
  }
  return tm;
}

// ---- [SECTION] output ----

// What one item reports, derived from its Timing.
struct ItemReport {
  double epoch_s = 0, epoch_min = 0, epoch_max = 0;  // per full epoch (scaled when steps < full_steps)
  double samples_per_s = 0, gflops = 0, peak_fraction = 0, rss_mb = 0;
  int64_t flops_per_sample = 0;
  bool scaled = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Peak resident set of this process so far: getrusage's ru_maxrss is a lifetime high-water mark,
// which is why each item runs in its own child process (see run_in_child).
double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;  // Linux reports KiB
}

ItemReport make_report(const WorkItem& w, const Timing& tm, double fma_peak) {
  ItemReport r;
  r.scaled = tm.steps != tm.full_steps;
  const double scale = static_cast<double>(tm.full_steps) / tm.steps;
  const double med = median(tm.seconds);
  r.epoch_s = med * scale;
  r.epoch_min = *std::min_element(tm.seconds.begin(), tm.seconds.end()) * scale;
  r.epoch_max = *std::max_element(tm.seconds.begin(), tm.seconds.end()) * scale;
  r.flops_per_sample = w.infer ? tm.flops.forward : tm.flops.train;
  r.samples_per_s = tm.samples / med;
  r.gflops = r.flops_per_sample * r.samples_per_s / 1e9;
  r.peak_fraction = fma_peak > 0 ? r.gflops / (fma_peak * w.threads) : 0;
  r.rss_mb = peak_rss_mb();
  return r;
}

void print_json(const WorkItem& w, const Timing& tm, const ItemReport& r, double fma_peak) {
  JsonLine j;
  j.add("work", w.name).add("kind", w.infer ? "inference" : "training").add("model", w.model);
  j.add("batch", w.batch).add("threads", w.threads).add("repeat", static_cast<int>(tm.seconds.size()));
  j.add("steps", tm.steps).add("full_epoch_steps", tm.full_steps).add("scaled", r.scaled);
  j.add("samples", tm.samples).add("samples_per_s", r.samples_per_s);
  j.add("epoch_s", r.epoch_s).add("epoch_s_min", r.epoch_min).add("epoch_s_max", r.epoch_max);
  j.add("flops_per_sample", r.flops_per_sample).add("gflops", r.gflops);
  j.add("fma_peak_gflops", fma_peak).add("peak_fraction", r.peak_fraction).add("peak_rss_mb", r.rss_mb);
  if (!w.infer) j.add("loss", tm.loss);
  j.print();
}

constexpr const char* kRowFormat = "%-13s %3s %5s %10s  %-25s %10s %8s %7s %8s %7s\n";

void print_table_header() {
  std::printf(kRowFormat, "work", "thr", "batch", "steps", "epoch s, median (min-max)", "samples/s", "GFLOP/s",
              "of peak", "peak RSS", "loss");
}

void print_row(const WorkItem& w, const Timing& tm, const ItemReport& r) {
  auto fmt = [](const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return std::string(buf);
  };
  const std::string steps = std::to_string(tm.steps) + (r.scaled ? "/" + std::to_string(tm.full_steps) + "*" : "");
  const char* sec = r.epoch_max < 10 ? "%.3f" : r.epoch_max < 100 ? "%.2f" : "%.1f";  // 4 significant digits
  const std::string epoch = fmt(sec, r.epoch_s) + " (" + fmt(sec, r.epoch_min) + "-" + fmt(sec, r.epoch_max) + ")";
  std::printf(kRowFormat, w.name.c_str(), std::to_string(w.threads).c_str(), std::to_string(w.batch).c_str(),
              steps.c_str(), epoch.c_str(), fmt("%.0f", r.samples_per_s).c_str(), fmt("%.1f", r.gflops).c_str(),
              fmt("%.1f%%", 100 * r.peak_fraction).c_str(), fmt("%.0f MB", r.rss_mb).c_str(),
              w.infer ? "-" : fmt("%.4f", tm.loss).c_str());
}

int run_item(const WorkItem& w, const BenchFlags& f, double fma_peak) {
  auto tm = w.infer ? time_inference(w, f) : time_training(w, f);
  if (!tm.ok()) return report(tm.status().With("bench " + w.name));
  const ItemReport r = make_report(w, *tm, fma_peak);
  if (f.json) print_json(w, *tm, r, fma_peak);
  else print_row(w, *tm, r);
  return 0;
}

// Runs one item in a forked child, so that the item's peak RSS is its own: ru_maxrss never goes down,
// and a forked child starts from the (small) resident set of this parent, which loads no data. The
// child prints its own row. Returns the child's exit code.
int run_in_child(const WorkItem& w, const BenchFlags& f, double fma_peak) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) return report(Status::Internal(std::string("bench: fork failed: ") + std::strerror(errno)));
  if (pid == 0) {
    const int rc = run_item(w, f, fma_peak);
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(rc);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return report(Status::Internal(std::string("bench: waitpid: ") + std::strerror(errno)));
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return report(Status::Internal("bench " + w.name + ": the child process died (signal " +
                                 std::to_string(WTERMSIG(st)) + ")"));
}

void print_preamble(const std::string& data_dir, double fma_peak) {
  std::printf("podlab bench: Fashion-MNIST from %s, float32, plain SGD with a constant learning rate\n", data_dir.c_str());
  std::printf("FMA peak of one core, measured now: %.1f GFLOP/s (%s, 16 independent accumulators)\n", fma_peak, kIsa);
  std::printf("FLOPs: 2 x GEMM/conv multiply-adds, forward + backward, as torch_fmnist.py counts them "
              "(MLP 784-200-200-10: 879,200 per training sample)\n\n");
}

void print_notes(const std::vector<WorkItem>& items) {
  std::printf("\nepoch s: training = one pass over the 60,000 training images; infer = one pass over the 10,000 "
              "test images (forward only, logits).\n");
  for (const WorkItem& w : items)
    if (w.steps > 0 && !w.infer) {
      std::printf("*: times that many steps per repetition and scales epoch s to a full epoch; samples/s and "
                  "GFLOP/s are as measured.\n");
      break;
    }
  std::printf("of peak: GFLOP/s / (FMA peak x threads). peak RSS: of the child process that ran the item "
              "(data, model, buffers and the binary).\n");
}

int run_bench(const BenchFlags& f) {
  auto items = parse_work_list(f);
  if (!items.ok()) return report(items.status());
  auto choice = choose_dataset("fashion-mnist", f.data_dir);
  if (!choice.ok()) return report(choice.status());
  const double fma_peak = measure_fma_peak_gflops();
  if (!f.json) {
    print_preamble(choice->dir, fma_peak);
    print_table_header();
  }
  for (const WorkItem& w : *items) {
    const int rc = run_in_child(w, f, fma_peak);
    if (rc != 0) return rc;
  }
  if (!f.json) print_notes(*items);
  return 0;
}

}  // namespace

void add_bench_commands(CLI::App& root, int& exit_code) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = root.add_subcommand(
      "bench", "Time training epochs and inference on Fashion-MNIST (samples/s, GFLOP/s, share of FMA peak, memory)");
  cmd->add_option("--work", f->work,
                  "Comma-separated work items: mlp | cnn | infer, each optionally -bBATCH and -tTHREADS")
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "Threads for items without -tN")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--repeat", f->repeat, "Timed repetitions per item (epochs, or passes over the test set)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--steps", f->steps, "Training steps per repetition, scaled to an epoch (default: full epochs; cnn 200)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--data", f->data_dir, "Directory holding Fashion-MNIST's IDX files");
  cmd->add_option("--seed", f->seed, "Seed for initialisation and data order")->capture_default_str();
  cmd->add_flag("--json", f->json, "One JSON object per work item (also when stdout is not a terminal)");
  cmd->callback([f, &exit_code] {
    if (!stdout_is_terminal()) f->json = true;
    exit_code = run_bench(*f);
  });
}

}  // namespace podlab
