// Optimisers against hand-computed updates, and learning-rate schedules.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "engine/optim/optimizer.h"

using namespace podlab;

namespace {
std::unique_ptr<Optimizer> make(const std::string& name, float lr, size_t n) {
  OptimizerConfig c;
  c.name = name;
  c.lr = lr;
  auto o = make_optimizer(c, n);
  REQUIRE(o.ok());
  return std::move(*o);
}
}  // namespace

TEST_CASE("SGD, momentum and Adam steps", "[optim]") {
  std::vector<float> p = {1.0f, -2.0f};
  const std::vector<float> g = {0.5f, -1.0f};
  auto sgd = make("sgd", 0.1f, 2);
  sgd->step(p.data(), g.data());
  CHECK(p[0] == Approx(0.95f));
  CHECK(p[1] == Approx(-1.9f));

  p = {1.0f, -2.0f};
  auto mom = make("momentum", 0.1f, 2);
  mom->step(p.data(), g.data());  // v = g
  mom->step(p.data(), g.data());  // v = 0.9 g + g = 1.9 g
  CHECK(p[0] == Approx(1.0f - 0.1f * (0.5f + 0.95f)));
  CHECK(mom->steps() == 2);
  CHECK(mom->slots().size() == 2);

  p = {1.0f, -2.0f};
  auto adam = make("adam", 0.01f, 2);
  adam->step(p.data(), g.data());
  // First Adam step moves every coordinate by lr * sign(g) (bias-corrected m/sqrt(v) = g/|g|).
  CHECK(p[0] == Approx(1.0f - 0.01f).epsilon(1e-5));
  CHECK(p[1] == Approx(-2.0f + 0.01f).epsilon(1e-5));
  CHECK(adam->slots().size() == 4);
}

TEST_CASE("a step split into ranges updates bit for bit as a whole step", "[optim]") {
  // As the trainer's threads do: disjoint ranges (one not aligned, one a short tail), then finish_step.
  const size_t n = 1000;
  std::vector<float> g(n);
  for (size_t i = 0; i < n; ++i) g[i] = std::sin(0.37f * static_cast<float>(i)) * 0.1f;
  for (const char* name : {"sgd", "momentum", "adam"}) {
    INFO(name);
    auto whole = make(name, 0.01f, n), split = make(name, 0.01f, n);
    std::vector<float> pw(n, 0.5f), ps(n, 0.5f);
    const size_t cuts[] = {0, 16, 333, 992, n};
    for (int s = 0; s < 3; ++s) {
      whole->step(pw.data(), g.data());
      for (int r = 0; r + 1 < 5; ++r)
        split->update_range(ps.data() + cuts[r], g.data() + cuts[r], cuts[r], cuts[r + 1] - cuts[r]);
      split->finish_step();
    }
    CHECK(split->steps() == 3);
    CHECK(std::memcmp(pw.data(), ps.data(), n * sizeof(float)) == 0);
    CHECK(whole->slots() == split->slots());
  }
}

TEST_CASE("optimizer config errors", "[optim]") {
  OptimizerConfig c;
  c.name = "rmsprop";
  auto o = make_optimizer(c, 3);
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().message().find("rmsprop") != std::string::npos);
  c.name = "sgd";
  c.lr = 0;
  CHECK_FALSE(make_optimizer(c, 3).ok());
}

TEST_CASE("learning-rate schedules", "[optim]") {
  auto c = LrSchedule::parse("constant");
  REQUIRE(c.ok());
  CHECK(c->at(0.1f, 1000) == Approx(0.1f));
  auto e = LrSchedule::parse("exp:0.5:100");
  REQUIRE(e.ok());
  CHECK(e->at(1.0f, 100) == Approx(0.5f));
  CHECK(e->at(1.0f, 50) == Approx(std::sqrt(0.5f)));
  auto s = LrSchedule::parse("step:10");
  REQUIRE(s.ok());
  CHECK(s->at(1.0f, 9) == Approx(1.0f));
  CHECK(s->at(1.0f, 25) == Approx(0.25f));
  for (const char* bad : {"exp:2:10", "exp:0.5", "step:0", "cosine", "exp:0.5:x"}) {
    auto r = LrSchedule::parse(bad);
    CHECK_FALSE(r.ok());
  }
  auto rt = LrSchedule::parse(e->to_string());
  REQUIRE(rt.ok());
  CHECK(rt->at(1.0f, 100) == Approx(0.5f));
}
