// Helpers for GUI tests: a small learnable dataset (8x8 synthetic images), a headless ImGui context
// (no backend, no GL), and a bounded wait.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "engine/data/dataset.h"
#include "gui/state.h"
#include "imgui.h"
#include "tests/engine/synthetic_data.h"

namespace podlab::testing {

inline std::shared_ptr<const Dataset> synthetic_dataset() {
  auto d = std::make_shared<Dataset>();
  d->name = "synthetic";
  d->train = synthetic_split(600, 1);
  d->test = synthetic_split(200, 2);
  for (int c = 0; c < 10; ++c) d->class_names.push_back("class" + std::to_string(c));
  return d;
}

// Polls `done` every 2 ms for up to `seconds`; true when it became true.
inline bool wait_until(const std::function<bool()>& done, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

// An ImGui context with a built font atlas and no renderer, 1280x800.
struct HeadlessImGui {
  HeadlessImGui() {
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = ImVec2(1280, 800);
    io.DeltaTime = 1.0f / 60;
    unsigned char* px = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);
  }
  ~HeadlessImGui() { ImGui::DestroyContext(); }
  HeadlessImGui(const HeadlessImGui&) = delete;
  HeadlessImGui& operator=(const HeadlessImGui&) = delete;
};

// One frame of the whole UI with the mouse at `mouse` (button 0 `down`).
inline void frame(gui::GuiState& s, ImVec2 mouse = ImVec2(-1, -1), bool down = false) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = mouse;
  io.MouseDown[0] = down;
  ImGui::NewFrame();
  gui::draw_frame(s);
  ImGui::Render();
}

// Points `s` at `cluster` and `textures` and opens the Cluster tab on the next frame.
inline void show_cluster_tab(gui::GuiState& s, gui::ClusterSession& cluster, gui::TextureStore& textures) {
  s.textures = &textures;
  s.cluster = &cluster;
  s.selected = gui::Tab::kCluster;
  s.select_tab_once = true;
}

// A click as a user makes it: hover, press, release, one frame each.
inline void click(gui::GuiState& s, ImVec2 at) {
  frame(s, at);
  frame(s, at, true);
  frame(s, at, false);
}

}  // namespace podlab::testing
