// Trainer: determinism, thread-count equivalence, and real learning on a subset of the dataset.
#include <catch2/catch.hpp>

#include <thread>

#include "engine/train_loop.h"
#include "engine/trainer.h"
#include "tests/engine/synthetic_data.h"

using namespace podlab;

namespace {

using testing::synthetic_split;

std::unique_ptr<Trainer> make_trainer(const std::string& spec, int threads, uint64_t seed, const std::string& opt = "adam") {
  TrainConfig c;
  c.model = *ModelSpec::parse(spec);
  c.optimizer.name = opt;
  c.optimizer.lr = 0.01f;
  c.batch = 16;
  c.threads = threads;
  c.seed = seed;
  auto t = Trainer::create(c, Shape{8, 8, 1}, 10);
  REQUIRE(t.ok());
  return std::move(*t);
}

}  // namespace

TEST_CASE("same seed and thread count give the same bits", "[trainer]") {
  const Split data = synthetic_split(200, 1);
  for (const char* spec : {"mlp:32,16", "cnn", "lstm:8"}) {
    for (int threads : {1, 2}) {
      auto a = make_trainer(spec, threads, 7), b = make_trainer(spec, threads, 7);
      for (int i = 0; i < 6; ++i) {
        a->step(data);
        b->step(data);
      }
      CHECK(a->parameters() == b->parameters());
    }
    auto c = make_trainer(spec, 1, 8), d = make_trainer(spec, 1, 7);
    CHECK(c->parameters() != d->parameters());
  }
}

TEST_CASE("two threads compute the same gradient as one, up to rounding", "[trainer]") {
  // With several threads an MLP's first layer is split over its input features (feature_split.h),
  // the rest over the batch. (Not the CNN: its dropout masks depend on the replica.)
  const Split data = synthetic_split(64, 2);
  for (const char* spec : {"mlp:32", "mlp:24,16:tanh"}) {
    for (int threads : {2, 3}) {
      INFO(spec << " threads " << threads);
      auto one = make_trainer(spec, 1, 3, "sgd"), many = make_trainer(spec, threads, 3, "sgd");
      FloatBuffer g1, g2;
      one->compute_gradients(data, g1);
      many->compute_gradients(data, g2);
      REQUIRE(g1.size() == g2.size());
      double worst = 0;
      for (size_t i = 0; i < g1.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(g1[i] - g2[i])));
      CHECK(worst < 1e-5);
    }
  }
}

TEST_CASE("epochs visit every sample once, last batch smaller", "[trainer]") {
  const Split data = synthetic_split(50, 3);
  auto t = make_trainer("softmax", 1, 1);
  CHECK(t->batches_per_epoch(data) == 4);
  int seen = 0;
  for (int i = 0; i < 4; ++i) seen += t->step(data).samples;
  CHECK(seen == 50);
  CHECK(t->position().epoch == 1);
  CHECK(t->position().batch_in_epoch == 0);
  CHECK(t->position().step == 4);
}

TEST_CASE("training learns a separable synthetic problem", "[trainer]") {
  const Split train = synthetic_split(800, 4), test = synthetic_split(200, 5);
  for (const char* spec : {"softmax", "mlp:32"}) {
    auto t = make_trainer(spec, 2, 1);
    const double before = t->evaluate(test).accuracy;
    for (int i = 0; i < 150; ++i) t->step(train);
    const EvalResult after = t->evaluate(test);
    CHECK(after.accuracy > 0.95);
    CHECK(after.accuracy > before);
    int64_t total = 0;
    for (int64_t v : after.confusion) total += v;
    CHECK(total == 200);
  }
}

TEST_CASE("evaluate calls after_chunk on the calling thread after each of its chunks, same result", "[trainer]") {
  // 1,234 samples: 12 chunks of 100 and one of 34. With two threads, part 0 (the caller) evaluates
  // the even chunks (7), part 1 the odd ones.
  static_assert(Trainer::kEvalChunk == 100, "the counts below assume chunks of 100");
  const Split test = synthetic_split(1234, 6);
  for (int threads : {1, 2}) {
    INFO("threads " << threads);
    auto t = make_trainer("mlp:16", threads, 2);
    const EvalResult plain = t->evaluate(test);
    const std::thread::id caller = std::this_thread::get_id();
    int calls = 0;
    bool on_caller = true;
    const EvalResult with = t->evaluate(test, 0, [&] {
      ++calls;
      on_caller = on_caller && std::this_thread::get_id() == caller;
    });
    CHECK(calls == (threads == 1 ? 13 : 7));
    CHECK(on_caller);
    CHECK(with.loss == plain.loss);
    CHECK(with.confusion == plain.confusion);
    int limited = 0;
    t->evaluate(test, 400, [&] { ++limited; });  // chunks 0-3
    CHECK(limited == (threads == 1 ? 4 : 2));
  }
}

TEST_CASE("the MLP learns Fashion-MNIST on a subset", "[trainer][data]") {
  auto choice = choose_dataset("fashion-mnist", "");
  REQUIRE(choice.ok());  // CI installs Debian's dataset-fashion-mnist; see README
  auto data = load_dataset(choice->name, choice->dir, 6000, 2000);
  REQUIRE(data.ok());
  TrainConfig c;
  c.model = *ModelSpec::parse("mlp:200,200");
  c.optimizer.name = "adam";
  c.optimizer.lr = 0.001f;
  c.batch = 50;
  c.threads = 2;
  auto t = Trainer::create(c, data->input_shape(), 10);
  REQUIRE(t.ok());
  struct Quiet : LoopObserver {} quiet;
  LoopOptions lo;
  lo.epochs = 2;
  auto r = run_training(**t, *data, lo, quiet);
  REQUIRE(r.ok());
  CHECK(r->epochs_completed == 2);
  CHECK(r->last_test.accuracy > 0.78);
}
