// The frame: layout of the main window (menu bar, a left column with the model and the training
// controls, tabs on the right), keyboard shortcuts, and small helpers shared by the panels.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/model_spec.h"
#include "gui/state.h"
#include "gui/training_session.h"

namespace podlab::gui {
namespace {
constexpr const char* kTabNames[] = {"training", "data", "graph", "inside", "results", "cluster"};
static_assert(sizeof(kTabNames) / sizeof(kTabNames[0]) == static_cast<int>(Tab::kCount), "a name per tab");
constexpr const char* kActivations[] = {"relu", "tanh", "sigmoid"};
}  // namespace

bool parse_tab(const std::string& name, Tab* out) {
  for (int i = 0; i < static_cast<int>(Tab::kCount); ++i)
    if (name == kTabNames[i]) {
      *out = static_cast<Tab>(i);
      return true;
    }
  return false;
}

const char* tab_name(Tab tab) { return kTabNames[static_cast<int>(tab)]; }

const char* tab_names() { return "training, data, graph, inside, results, cluster"; }

std::string compose_model_spec(const ModelEdit& m) {
  switch (m.kind) {
    case 0: return "softmax";
    case 2: return "cnn";
    case 3:
      return "lstm:" + std::to_string(m.lstm_units) + (m.lstm_layers > 1 ? "x" + std::to_string(m.lstm_layers) : "");
    default: {
      std::string s = std::string("mlp:") + m.hidden;
      if (m.activation > 0 && m.activation < 3) s += std::string(":") + kActivations[m.activation];
      return s;
    }
  }
}

void decompose_model_spec(const std::string& text, ModelEdit& m) {
  auto spec = ModelSpec::parse(text);
  if (!spec.ok()) return;
  switch (spec->kind) {
    case ModelSpec::Kind::kSoftmax: m.kind = 0; break;
    case ModelSpec::Kind::kCnn: m.kind = 2; break;
    case ModelSpec::Kind::kLstm:
      m.kind = 3;
      m.lstm_units = spec->lstm_units;
      m.lstm_layers = spec->lstm_layers;
      break;
    case ModelSpec::Kind::kMlp: {
      m.kind = 1;
      std::string h;
      for (size_t i = 0; i < spec->hidden.size(); ++i) h += (i ? "," : "") + std::to_string(spec->hidden[i]);
      std::snprintf(m.hidden, sizeof m.hidden, "%s", h.c_str());
      m.activation = spec->activation == Activation::kTanh ? 1 : spec->activation == Activation::kSigmoid ? 2 : 0;
      break;
    }
  }
}

void apply_setup(GuiState& s, const GuiSetup& setup) {
  s.setup = setup;
  s.applied = setup;
  decompose_model_spec(setup.model, s.model_edit);
  s.loss_plot = PlotView{};
  s.accuracy_plot = PlotView{};
  if (s.session) s.session->reset(setup);
}

void help_marker(const char* text) {
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  item_tooltip(text);
}

void item_tooltip(const char* text) {
  if (!ImGui::IsItemHovered()) return;
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 28.0f);
  ImGui::TextUnformatted(text);
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
}

const char* label(const char* text, const char* id) {
  // A small ring, so several labels can be alive within one widget call.
  static thread_local char ring[8][256];
  static thread_local int next = 0;
  char* buf = ring[next++ & 7];
  std::snprintf(buf, sizeof ring[0], "%s###%s", text, id);
  return buf;
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

void draw_frame(GuiState& s) {
  if (s.exchange) s.exchange->read(s.view);
  if (s.cluster) s.cluster_status = s.cluster->status();
  if (s.inference.sync(s.view.status) && s.inference.ready()) {
    if (s.history_generation != s.view.status.generation) {
      s.history = WeightHistory{};
      s.history_generation = s.view.status.generation;
    }
    update_weight_history(s.history, *s.inference.network(), *s.inference.weights(), s.inference.weights_step());
  }
  // Without a CJK font Chinese would draw as '?', so the UI stays English and the menu says why.
  s.t.lang = s.cjk_font ? parse_lang(s.setup.language.c_str()) : Lang::kEn;
  ImGuiIO& io = ImGui::GetIO();
  const bool space = ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Space), false) || s.space_tapped;
  s.space_tapped = false;
  if (space && !io.WantTextInput && s.session) s.session->set_running(!s.session->running());

  const ImGuiViewport* vp = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(vp->WorkPos);
  ImGui::SetNextWindowSize(vp->WorkSize);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_MenuBar |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBackground;
  // No background: the renderer's clear colour is the window colour, which saves a full-screen
  // blended layer (software GL at 1280x800 is fill-rate bound).
  ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, 0);
  ImGui::Begin("podlab", nullptr, flags);
  ImGui::PopStyleVar();
  draw_menu_bar(s);

  const float left_w = std::min(ImGui::GetFontSize() * 24.0f, ImGui::GetContentRegionAvail().x * 0.4f);
  ImGui::BeginChild("left", ImVec2(left_w, 0), true);
  draw_model_panel(s);
  ImGui::Separator();
  draw_training_controls(s);
  ImGui::EndChild();
  ImGui::SameLine();
  const float lesson_w =
      s.lesson_open ? std::min(ImGui::GetFontSize() * 30.0f, ImGui::GetContentRegionAvail().x * 0.42f) : 0.0f;
  ImGui::BeginChild("right", ImVec2(s.lesson_open ? -lesson_w - ImGui::GetStyle().ItemSpacing.x : 0, 0), false);
  const bool highlighting = s.highlight_until > ImGui::GetTime();
  if (ImGui::BeginTabBar("tabs")) {
    struct TabDef {
      Tab tab;
      Msg name;
      void (*draw)(GuiState&);
    };
    const TabDef tabs[] = {{Tab::kTraining, Msg::kPanelTraining, draw_training_tab},
                           {Tab::kData, Msg::kPanelData, draw_data_tab},
                           {Tab::kGraph, Msg::kPanelGraph, draw_graph_tab},
                           {Tab::kInside, Msg::kPanelInside, draw_inside_tab},
                           {Tab::kResults, Msg::kPanelResults, draw_results_tab},
                           {Tab::kCluster, Msg::kPanelCluster, draw_cluster_tab}};
    for (const TabDef& d : tabs) {
      const ImGuiTabItemFlags f = s.select_tab_once && s.selected == d.tab ? ImGuiTabItemFlags_SetSelected : 0;
      // The tab a lesson step is about pulses in orange for a few seconds.
      const bool lit = highlighting && s.highlight_tab == d.tab;
      if (lit) {
        const float pulse = 0.65f + 0.35f * std::sin(static_cast<float>(ImGui::GetTime()) * 8.0f);
        const ImVec4 c(0.95f * pulse, 0.55f * pulse, 0.1f, 1.0f);
        ImGui::PushStyleColor(ImGuiCol_Tab, c);
        ImGui::PushStyleColor(ImGuiCol_TabActive, c);
        ImGui::PushStyleColor(ImGuiCol_TabHovered, c);
      }
      const bool open = ImGui::BeginTabItem(label(s.t(d.name), kTabNames[static_cast<int>(d.tab)]), nullptr, f);
      if (lit) ImGui::PopStyleColor(3);
      if (open) {
        if (!s.select_tab_once) s.selected = d.tab;
        d.draw(s);
        ImGui::EndTabItem();
      }
    }
    s.select_tab_once = false;
    ImGui::EndTabBar();
  }
  if (highlighting && s.highlight_tab == s.selected) {
    const ImVec2 a = ImGui::GetWindowPos(), b(a.x + ImGui::GetWindowWidth(), a.y + ImGui::GetWindowHeight());
    ImGui::GetWindowDrawList()->AddRect(a, b, IM_COL32(240, 140, 25, 255), 4.0f, 0, 3.0f);
  }
  ImGui::EndChild();
  if (s.lesson_open) {
    ImGui::SameLine();
    ImGui::BeginChild("lesson", ImVec2(0, 0), true);
    draw_lesson_panel(s);
    ImGui::EndChild();
  }
  ImGui::End();
}

}  // namespace podlab::gui
