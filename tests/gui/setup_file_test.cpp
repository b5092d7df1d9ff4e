// The shareable set-up file: round trip, atomic save, and errors that name the line to fix.
#include <catch2/catch.hpp>

#include <fstream>

#include "gui/setup_file.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::gui;

namespace {
GuiSetup unusual_setup() {
  GuiSetup s;
  s.dataset = "fashion-mnist";
  s.model = "mlp:64,32:tanh";
  s.optimizer = "momentum";
  s.lr = 0.0123f;
  s.batch = 37;
  s.seed = 12345678901ULL;
  s.limit_train = 5000;
  s.speed_limit = 12.5;
  s.cluster_ps = 2;
  s.cluster_workers = 3;
  s.cluster_backup = 1;
  s.cluster_mode = "ssp:2";
  s.cluster_placement = "balanced";
  s.language = "zh";
  return s;
}

std::string error_of(const std::string& text) {
  auto r = setup_from_text(text, "class.txt");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kConfig);
  return r.status().message();
}
}  // namespace

TEST_CASE("set-up text round-trips every field", "[gui][setup]") {
  const GuiSetup s = unusual_setup();
  auto back = setup_from_text(setup_to_text(s), "x");
  REQUIRE(back.ok());
  CHECK(*back == s);
  auto defaults = setup_from_text(setup_to_text(GuiSetup{}), "x");
  REQUIRE(defaults.ok());
  CHECK(*defaults == GuiSetup{});
}

TEST_CASE("set-up files save atomically and load back", "[gui][setup]") {
  testing::TempDir dir;
  const std::string path = (dir.path / "class.podlab").string();
  REQUIRE(save_setup(unusual_setup(), path).ok());
  CHECK_FALSE(std::ifstream(path + ".tmp").good());
  auto back = load_setup(path);
  REQUIRE(back.ok());
  CHECK(*back == unusual_setup());

  auto missing = load_setup((dir.path / "nope.txt").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kIo);
  CHECK_THAT(missing.status().message(), Catch::Contains("nope.txt"));
  const Status unwritable = save_setup(GuiSetup{}, (dir.path / "no-such-dir" / "x.txt").string());
  CHECK(unwritable.code() == StatusCode::kIo);
}

TEST_CASE("set-up errors name the file, the line and what is accepted", "[gui][setup]") {
  using Catch::Contains;
  CHECK_THAT(error_of("format = 1\n\n# comment\nmodle = cnn\n"),
             Contains("class.txt:4: unknown key 'modle'") && Contains("model"));
  CHECK_THAT(error_of("format = 1\nbatch = many\n"), Contains("class.txt:2: batch: expected a batch size"));
  CHECK_THAT(error_of("format = 1\nlr = -1\n"), Contains("class.txt:2: lr"));
  CHECK_THAT(error_of("format = 1\njust words\n"), Contains("class.txt:2: expected 'key = value'"));
  CHECK_THAT(error_of("model = cnn\n"), Contains("not a podlab gui set-up file"));
  CHECK_THAT(error_of("format = 7\n"), Contains("newer than this podlab"));
  CHECK_THAT(error_of("format = 1\nmodel = resnet\n"), Contains("class.txt: model"));
  CHECK_THAT(error_of("format = 1\noptimizer = rmsprop\n"), Contains("sgd, momentum, adam"));
  CHECK_THAT(error_of("format = 1\nlanguage = fr\n"), Contains("en or zh"));
  CHECK_THAT(error_of("format = 1\ncluster_mode = fast\n"), Contains("async, sync or ssp:K"));
  CHECK_THAT(error_of("format = 1\ndataset = cifar\n"), Contains("unknown dataset 'cifar'"));
}

TEST_CASE("changing the network picks its default optimiser, lr and batch", "[gui][setup]") {
  GuiSetup s;
  s.model = "cnn";
  apply_model_defaults(s);
  CHECK(s.batch == 50);
  CHECK(s.lr == Approx(0.001f));
  CHECK(s.optimizer == "adam");
}
