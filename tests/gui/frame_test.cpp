// Every panel drawn headless (ImGui without a backend) while a model trains; clicks go through
// ImGui's input like a user's.
#include <catch2/catch.hpp>

#include <filesystem>

#include "gui/cluster_session.h"
#include "gui/process_run.h"
#include "gui/state.h"
#include "gui/training_session.h"
#include "tests/gui/gui_test_util.h"

using namespace podlab;
using namespace podlab::gui;
using podlab::testing::click;
using podlab::testing::frame;
using podlab::testing::wait_until;

TEST_CASE("all tabs draw while training; the Play button starts training", "[gui][frame]") {
  testing::HeadlessImGui imgui;
  SnapshotExchange exchange;
  SessionOptions so;
  so.fixed_data = testing::synthetic_dataset();
  so.eval_samples = 100;
  TrainingSession session(exchange, so);
  ClusterSession cluster;
  NullTextures textures;
  GuiState s;
  s.cluster = &cluster;
  s.session = &session;
  s.exchange = &exchange;
  s.textures = &textures;
  GuiSetup setup;
  setup.model = "mlp:16";
  setup.batch = 20;
  apply_setup(s, setup);
  REQUIRE(wait_until([&] {
    frame(s);
    return s.view.status.phase == "ready";
  }));
  CHECK(s.summary.parameters == 8 * 8 * 16 + 16 + 16 * 10 + 10);

  click(s, ImVec2(s.play_button_x, s.play_button_y));
  CHECK(session.running());
  REQUIRE(wait_until([&] {
    frame(s);
    return s.view.status.step > 50;
  }));
  for (int tab = 0; tab < static_cast<int>(Tab::kCount); ++tab) {
    s.selected = static_cast<Tab>(tab);
    s.select_tab_once = true;
    for (int i = 0; i < 3; ++i) frame(s, ImVec2(900, 400));  // hovering the plots shows read-outs
    CHECK(ImGui::GetDrawData()->TotalVtxCount > 1000);
  }
  // The Cluster tab while a cluster runs, and its Kubernetes manifests.
  LinkModel slow_link;
  slow_link.latency_ms = 2;  // so the run outlasts a few ticks
  REQUIRE(cluster.start(s.setup, s.view.status.data, slow_link, 100).ok());
  s.selected = Tab::kCluster;
  s.select_tab_once = true;
  s.k8s_open = s.k8s_render_now = true;
  REQUIRE(wait_until([&] {
    frame(s);
    return s.cluster_status.ticks > 2;
  }));
  CHECK(s.k8s_docs > 0);
  CHECK(s.k8s_yaml.find("kind: Job") != std::string::npos);
  CHECK_FALSE(s.cluster_link_rates.empty());
  cluster.stop();
  // Chinese text draws too (with the default font it shows '?', which is fine here).
  s.cjk_font = true;
  s.setup.language = "zh";
  frame(s);
  CHECK(s.t.lang == Lang::kZh);
  // Space pauses.
  ImGui::GetIO().KeyMap[ImGuiKey_Space] = 32;
  ImGui::GetIO().KeysDown[32] = true;
  frame(s);
  ImGui::GetIO().KeysDown[32] = false;
  frame(s);
  CHECK_FALSE(session.running());
}

TEST_CASE("editing the model marks it pending until Reset", "[gui][frame]") {
  testing::HeadlessImGui imgui;
  GuiState s;
  NullTextures textures;
  s.textures = &textures;
  apply_setup(s, GuiSetup{});
  frame(s);
  CHECK(s.setup == s.applied);
  s.model_edit.kind = 0;  // softmax
  frame(s);
  CHECK(s.setup.model == "softmax");
  CHECK(s.setup != s.applied);
  CHECK(s.summary.parameters == 784 * 10 + 10);
  CHECK(compose_model_spec(s.model_edit) == "softmax");
  ModelEdit m;
  decompose_model_spec("lstm:64x2", m);
  CHECK(compose_model_spec(m) == "lstm:64x2");
  decompose_model_spec("mlp:10,20:sigmoid", m);
  CHECK(compose_model_spec(m) == "mlp:10,20:sigmoid");
}

TEST_CASE("the Cluster tab runs the job as real ps and worker processes", "[gui][frame][process]") {
  testing::HeadlessImGui imgui;
  ProcessRun procs;
  ClusterSession cluster;
  NullTextures textures;
  GuiState s;
  testing::show_cluster_tab(s, cluster, textures);
  s.processes = &procs;
  s.podlab_exe = PODLAB_BINARY;
  s.cluster_as_processes = true;
  GuiSetup setup;
  setup.model = "softmax";
  setup.limit_train = 1000;
  setup.cluster_workers = 2;
  apply_setup(s, setup);
  start_cluster_processes(s);
  REQUIRE(s.cluster_message.empty());
  bool saw_tasks = false;
  REQUIRE(wait_until([&] {
    frame(s);
    const ProcessRun::View v = procs.view();
    for (const ProcessRun::Task& t : v.children)
      if (t.command.find(" worker ") != std::string::npos || t.command.find(" ps ") != std::string::npos) saw_tasks = true;
    return !v.running;
  }, 120));
  const ProcessRun::View v = procs.view();
  INFO((v.lines.empty() ? std::string("no output") : v.lines.back()));
  if (v.exit_code == 4) SUCCEED("no dataset installed: skipped (exit 4)");
  else {
    CHECK(v.exit_code == 0);
    CHECK(saw_tasks);
    REQUIRE_FALSE(v.lines.empty());
    CHECK(v.lines.back().find("\"event\":\"result\"") != std::string::npos);
    // The tab parsed the run's lines: every task (from a progress line, printed once a second), and
    // the start and the result in its log.
    frame(s);
    bool progress = false;
    for (const std::string& l : v.lines) progress |= l.find("\"event\":\"progress\"") != std::string::npos;
    if (progress) CHECK(s.proc_progress.tasks.size() == 3);
    REQUIRE(s.proc_progress.log.size() >= 2);
    CHECK(s.proc_progress.log.front().find("started") != std::string::npos);
    CHECK(s.proc_progress.log.back().find("done: test accuracy") != std::string::npos);
  }
  std::error_code ec;
  std::filesystem::remove_all(s.cluster_ckpt_dir, ec);
}
