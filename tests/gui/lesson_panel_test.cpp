// The Lesson panel drawn headless: Run starts a step on the session's thread (the real podlab binary
// as a child process), the frames while it runs keep drawing, the check results appear with the
// values they read, the tab the step is about is selected, and the language switch follows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

#include "gui/lesson_session.h"
#include "gui/state.h"
#include "gui/training_session.h"
#include "tests/gui/gui_test_util.h"
#include "tests/temp_dir.h"

using namespace podlab;
using namespace podlab::gui;
using podlab::testing::click;
using podlab::testing::frame;
using podlab::testing::wait_until;

namespace {

void write_lesson(const std::filesystem::path& path, const std::string& lang) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "---\ntitle: Panel test\nlanguage: " << lang
                      << "\nlevel: beginner\nduration: 1 min\ndataset: none\n---\n"
                         "# Panel test\n\nSome **prose** with `code`.\n\n## The graph\n\n"
                         "```podlab\npodlab graph\n```\n\n"
                         "```check\nexit_code == 0\nops == 6\nops == 7   # wrong on purpose\n```\n\n"
                         "```quiz\nHow many ops?\n- [x] six\n- [ ] seven\nexplain: x, weights, biases and three more.\n```\n\n"
                         "```podlab panel=inside\npodlab gui --panel inside\n```\n";
}

}  // namespace

TEST_CASE("the lesson panel runs a step off the UI thread and shows its checks", "[gui][lesson]") {
  testing::HeadlessImGui imgui;
  testing::TempDir dir;
  write_lesson(dir.path / "en" / "01-panel.md", "en");
  write_lesson(dir.path / "zh" / "01-panel.md", "zh");
  SnapshotExchange exchange;
  SessionOptions so;
  so.fixed_data = testing::synthetic_dataset();
  TrainingSession session(exchange, so);
  LessonSession lesson(PODLAB_BINARY);
  NullTextures textures;
  GuiState s;
  s.session = &session;
  s.exchange = &exchange;
  s.textures = &textures;
  s.lesson = &lesson;
  s.lessons_dir = dir.path.string();
  GuiSetup setup;
  setup.model = "mlp:16";
  apply_setup(s, setup);
  REQUIRE(open_lesson(s, "01-panel", "en"));
  CHECK(s.lesson_open);
  frame(s);
  CHECK(s.lesson_entries.size() == 1);
  REQUIRE(s.lesson_run_x > 0);

  click(s, ImVec2(s.lesson_run_x, s.lesson_run_y));
  CHECK(s.selected == Tab::kGraph);  // `podlab graph` is about the Graph tab
  CHECK(s.highlight_tab == Tab::kGraph);
  // ... and the tab shows that step's graph (x, weights, biases, MatMul, Add, Relu), not the model's,
  // until asked for the model's again.
  frame(s);
  frame(s);  // the tab switch shows on the next frame
  CHECK(s.graph_source == "podlab graph");
  CHECK(s.graph.ops.size() == 6);
  CHECK(s.graph_layout.nodes.size() > 0);
  int running_frames = 0;
  REQUIRE(wait_until([&] {
    frame(s);
    running_frames += lesson.running_step() == 0;
    return !lesson.busy();
  }, 30));
  CHECK(running_frames > 0);  // the UI kept drawing while the child ran
  // (the step's start, a few frames after the click on a busy machine, shows its tab once more)
  CHECK(s.graph_source == "podlab graph");
  s.graph_source.clear();  // what "Show the model's graph" does
  s.graph.ops.clear();
  // The model's graph again (the inference copy of the model may lag behind on a busy machine).
  REQUIRE(wait_until([&] {
    frame(s);
    return s.inference.network() != nullptr && !s.graph.ops.empty();
  }, 30));
  CHECK(s.graph_source.empty());
  CHECK(s.graph.ops.size() == s.inference.network()->describe().ops.size());
  CHECK(show_lesson_graph(s, {"graph", "--layers", "2", "--scope", "dense"}));
  CHECK(s.graph.ops.size() == 11);  // x, then 5 ops in each of dense and dense_1
  CHECK(s.graph_expanded.count("dense_1") == 1);
  CHECK_FALSE(show_lesson_graph(s, {"graph", "--layers", "many"}));
  CHECK(s.graph_source == "podlab graph --layers 2 --scope dense");
  frame(s);
  const std::vector<std::string>& lines = s.lesson_check_lines;
  INFO(lines.size() << " check lines");
  CHECK(std::find(lines.begin(), lines.end(), "PASS exit_code == 0   [exit_code = 0]") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "PASS ops == 6   [ops = 6]") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "FAIL ops == 7   [ops = 6]") != lines.end());

  // The UI switched to Chinese: the same lesson from zh/, its results cleared.
  s.cjk_font = true;
  s.setup.language = "zh";
  frame(s);
  CHECK(s.lesson_lang == "zh");
  CHECK(lesson.lesson()->meta.language == "zh");
  frame(s);
  CHECK(s.lesson_check_lines.empty());
}

TEST_CASE("a lesson step's tab: panel= first, then the command", "[gui][lesson]") {
  auto tab_of = [](const std::string& command, const std::string& panel) {
    Step step;
    step.args = *split_command(command);
    step.panel = panel;
    Tab t = Tab::kCount;
    return lesson_step_tab(step, &t) ? t : Tab::kCount;
  };
  CHECK(tab_of("train --model cnn", "") == Tab::kTraining);
  CHECK(tab_of("train --model cnn", "inside") == Tab::kInside);
  CHECK(tab_of("cluster run --ps 2", "") == Tab::kCluster);
  CHECK(tab_of("k8s render --name x", "") == Tab::kCluster);
  CHECK(tab_of("graph --layers 2", "") == Tab::kGraph);
  CHECK(tab_of("gui --panel results", "") == Tab::kResults);
  CHECK(tab_of("bench --work mlp", "") == Tab::kCount);
}

TEST_CASE("a lesson step sets the app up as its command would run", "[gui][lesson]") {
  auto setup_of = [](const std::string& command, GuiSetup& g, bool* processes) {
    Step step;
    step.args = *split_command(command);
    return setup_from_step(step, g, processes);
  };
  GuiSetup g;
  bool processes = true;
  REQUIRE(setup_of("train --model cnn --dataset fashion-mnist --seed 7 --limit-train 6000", g, &processes));
  CHECK(g.model == "cnn");
  CHECK(g.seed == 7);
  CHECK(g.limit_train == 6000);
  CHECK(g.dataset == "fashion-mnist");
  CHECK_FALSE(processes);
  GuiSetup defaults = g;
  defaults.model = "cnn";
  apply_model_defaults(defaults);
  CHECK((g.optimizer == defaults.optimizer && g.lr == defaults.lr && g.batch == defaults.batch));
  REQUIRE(setup_of("cluster run --ps 2 --workers 3 --mode sync --replicas-to-aggregate 2 --transport processes "
                   "--model mlp:64 --lr 0.01", g, &processes));
  CHECK((g.cluster_ps == 2 && g.cluster_workers == 3 && g.cluster_mode == "sync" && g.cluster_backup == 1));
  CHECK((g.model == "mlp:64" && g.lr == Approx(0.01f) && g.limit_train == 0));
  CHECK(processes);
  const GuiSetup before = g;
  CHECK_FALSE(setup_of("graph --layers 2", g, &processes));
  CHECK_FALSE(setup_of("train --model cnn --batch many", g, &processes));
  CHECK_FALSE(setup_of("train --model nonsense", g, &processes));
  CHECK(g == before);
}
