// Graph tab: the model (or a lesson step's hello graph) as named ops with tensor shapes on the edges;
// name scopes collapse and expand (click), as TensorBoard's graph view does.
#include <algorithm>

#include "engine/graph/hello_graph.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

ImU32 op_colour(const std::string& op) {
  if (op == "scope") return IM_COL32(70, 95, 140, 255);
  if (op == "VariableV2") return IM_COL32(150, 110, 40, 255);
  if (op == "Placeholder") return IM_COL32(70, 120, 70, 255);
  if (op == "MatMul" || op == "Conv2D" || op == "LSTM") return IM_COL32(120, 70, 130, 255);
  return IM_COL32(80, 80, 90, 255);
}

// The ps holding the variable that starts at `offset` in the flat buffer, or -1.
int ps_of(const Placement& p, size_t offset) {
  for (int k = 0; k < p.num_shards(); ++k)
    for (const Piece& piece : p.shards[k].pieces)
      if (offset >= piece.begin && offset < piece.end) return k;
  return -1;
}

constexpr ImU32 kPsColours[] = {IM_COL32(170, 110, 30, 255), IM_COL32(40, 140, 120, 255), IM_COL32(150, 60, 110, 255),
                                IM_COL32(90, 110, 170, 255)};

}  // namespace

bool show_lesson_graph(GuiState& s, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "graph") return false;
  HelloGraphOptions o;
  try {
    for (size_t i = 1; i < args.size(); ++i) {
      const bool has_value = i + 1 < args.size();
      if (args[i] == "--layers" && has_value) o.layers = std::stoi(args[++i]);
      else if (args[i] == "--weight" && has_value) o.weight = std::stof(args[++i]);
      else if (args[i] == "--scope" && has_value) o.scope = args[++i];
      else if (args[i] == "--random") o.random = true;
    }
  } catch (const std::exception&) {
    return false;
  }
  if (o.layers < 1 || o.layers > 8) return false;
  Graph g;
  build_hello_graph(g, o);
  if (!g.status().ok()) return false;
  s.graph = g.to_model_graph();
  s.graph_source = "podlab";
  for (const std::string& a : args) s.graph_source += " " + a;
  s.graph_spec.clear();
  s.graph_expanded.clear();
  for (const std::string& sc : graph_scopes(s.graph)) s.graph_expanded.insert(sc);
  s.graph_dirty = true;
  return true;
}

void draw_graph_tab(GuiState& s) {
  const Text& t = s.t;
  Network* net = s.inference.network();
  const bool lesson_graph = !s.graph_source.empty();
  if (lesson_graph) {
    ImGui::TextColored(ImVec4(1.0f, 0.85f, 0.4f, 1.0f), t(Msg::kGraphFromLesson), s.graph_source.c_str());
    ImGui::SameLine();
    if (ImGui::SmallButton(label(t(Msg::kGraphShowModel), "showmodel"))) {
      s.graph_source.clear();
      s.graph.ops.clear();  // rebuilt from the model below
    }
  }
  if (s.graph_source.empty()) {
    if (!net) {
      ImGui::TextUnformatted(t(Msg::kNoModel));
      return;
    }
    if (s.graph_spec != s.view.status.model_spec || s.graph.ops.empty()) {
      s.graph = net->describe();
      s.graph_spec = s.view.status.model_spec;
      s.graph_dirty = true;
    }
  }
  if (ImGui::SmallButton(label(t(Msg::kExpandAll), "expandall"))) {
    for (const std::string& sc : graph_scopes(s.graph)) s.graph_expanded.insert(sc);
    s.graph_dirty = true;
  }
  ImGui::SameLine();
  if (ImGui::SmallButton(label(t(Msg::kCollapseAll), "collapseall"))) {
    s.graph_expanded.clear();
    s.graph_dirty = true;
  }
  ImGui::SameLine();
  ImGui::Text(t(Msg::kGraphOps), static_cast<int>(s.graph.ops.size()));
  help_marker(t(Msg::kTipGraph));
  if (s.graph_dirty) {
    s.graph_layout = layout_graph(s.graph, s.graph_expanded);
    s.graph_dirty = false;
  }
  const GraphLayout& L = s.graph_layout;
  // In a cluster, variables take the colour of their ps (as placement decided).
  const Placement* placement = nullptr;
  if (s.graph_source.empty() && net && s.cluster && !s.cluster_status.placement.shards.empty() &&
      s.cluster_status.placement.total == net->layout().total())
    placement = &s.cluster_status.placement;
  if (placement) {
    ImGui::SameLine();
    ImGui::TextDisabled("| %s", t(Msg::kGraphByPs));
    for (int k = 0; k < placement->num_shards(); ++k) {
      ImGui::SameLine();
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kPsColours[k % 4]), "ps:%d", k);
    }
  }

  const float fs = ImGui::GetFontSize();
  const float node_w = fs * 8, node_h = fs * 2.6f, col_w = fs * 11.5f, row_h = fs * 4.2f, margin = fs;
  ImGui::BeginChild("graph", ImVec2(0, 0), true, ImGuiWindowFlags_HorizontalScrollbar);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  auto box_min = [&](const GraphNode& n) {
    return ImVec2(origin.x + margin + n.column * col_w, origin.y + margin + fs + n.row * row_h);
  };
  // Expanded scopes: a frame around their ops, with the scope name as a clickable header.
  for (const std::string& sc : s.graph_expanded) {
    ImVec2 a(1e9f, 1e9f), b(-1e9f, -1e9f);
    for (const GraphNode& n : L.nodes) {
      if (n.scope != sc || n.op == "scope") continue;
      const ImVec2 m = box_min(n);
      a = ImVec2(std::min(a.x, m.x), std::min(a.y, m.y));
      b = ImVec2(std::max(b.x, m.x + node_w), std::max(b.y, m.y + node_h));
    }
    if (a.x > b.x) continue;
    a = ImVec2(a.x - fs * 0.4f, a.y - fs * 1.3f);
    b = ImVec2(b.x + fs * 0.4f, b.y + fs * 0.4f);
    dl->AddRect(a, b, IM_COL32(110, 140, 200, 200), fs * 0.4f, 0, 1.5f);
    ImGui::SetCursorScreenPos(a);
    ImGui::PushID(sc.c_str());
    if (ImGui::InvisibleButton("hdr", ImVec2(b.x - a.x, fs * 1.2f))) {
      s.graph_expanded.erase(sc);
      s.graph_dirty = true;
    }
    ImGui::PopID();
    dl->AddText(ImVec2(a.x + fs * 0.3f, a.y + fs * 0.1f), IM_COL32(160, 190, 240, 255), ("[-] " + sc).c_str());
  }
  // Edges: curves from the right side of the source to the left side of the target, shape in the middle.
  for (const GraphEdge& e : L.edges) {
    const ImVec2 a0 = box_min(L.nodes[e.from]), b0 = box_min(L.nodes[e.to]);
    const ImVec2 a(a0.x + node_w, a0.y + node_h / 2), b(b0.x, b0.y + node_h / 2);
    const float dx = std::max(fs * 2, (b.x - a.x) / 2);
    dl->AddBezierCubic(a, ImVec2(a.x + dx, a.y), ImVec2(b.x - dx, b.y), b, IM_COL32(170, 170, 180, 200), 1.5f);
    dl->AddTriangleFilled(b, ImVec2(b.x - fs * 0.5f, b.y - fs * 0.3f), ImVec2(b.x - fs * 0.5f, b.y + fs * 0.3f),
                          IM_COL32(170, 170, 180, 220));
    if (!e.shape.empty() && e.shape != "[]") {
      const ImVec2 mid((a.x + b.x) / 2, (a.y + b.y) / 2 - fs);
      dl->AddText(ImVec2(mid.x - ImGui::CalcTextSize(e.shape.c_str()).x / 2, mid.y), IM_COL32(200, 200, 140, 255),
                  e.shape.c_str());
    }
  }
  for (const GraphNode& n : L.nodes) {
    const ImVec2 a = box_min(n), b(a.x + node_w, a.y + node_h);
    ImGui::SetCursorScreenPos(a);
    ImGui::PushID(n.id.c_str());
    const bool clicked = ImGui::InvisibleButton("node", ImVec2(node_w, node_h));
    const bool hovered = ImGui::IsItemHovered();
    ImGui::PopID();
    const bool scope = n.op == "scope";
    ImU32 fill = op_colour(n.op);
    if (placement && !n.variable.empty()) {
      const int idx = net->layout().find(n.variable);
      const int k = idx >= 0 ? ps_of(*placement, net->layout()[idx].offset) : -1;
      if (k >= 0) fill = kPsColours[k % 4];
    }
    dl->AddRectFilled(a, b, fill, fs * (scope ? 0.6f : 0.25f));
    if (scope) dl->AddRect(a, b, IM_COL32(150, 180, 240, 255), fs * 0.6f, 0, hovered ? 2.5f : 1.5f);
    else if (hovered) dl->AddRect(a, b, IM_COL32(230, 230, 230, 255), fs * 0.25f, 0, 1.5f);
    const std::string name = scope ? "[+] " + n.id : n.id.substr(n.scope.empty() ? 0 : n.scope.size() + 1);
    const std::string sub = scope ? std::to_string(n.ops) + " ops" : n.op;
    dl->PushClipRect(a, b, true);
    dl->AddText(ImVec2(a.x + fs * 0.3f, a.y + fs * 0.2f), IM_COL32(240, 240, 240, 255), name.c_str());
    dl->AddText(ImVec2(a.x + fs * 0.3f, a.y + fs * 1.3f), IM_COL32(190, 190, 200, 255), sub.c_str());
    dl->PopClipRect();
    if (clicked && scope) {
      s.graph_expanded.insert(n.id);
      s.graph_dirty = true;
    }
    if (hovered) {
      ImGui::BeginTooltip();
      ImGui::Text("%s  (%s)", n.id.c_str(), n.op.c_str());
      ImGui::Text("output %s", shape_string(n.shape).c_str());
      if (!n.variable.empty()) {
        const int idx = net->layout().find(n.variable);
        if (idx >= 0) ImGui::Text("%s: %zu floats", n.variable.c_str(), net->layout()[idx].size());
      }
      ImGui::EndTooltip();
    }
  }
  ImGui::SetCursorScreenPos(origin);
  ImGui::Dummy(ImVec2(margin * 2 + L.columns * col_w, margin * 2 + fs + L.rows * row_h));
  ImGui::EndChild();
}

}  // namespace podlab::gui
