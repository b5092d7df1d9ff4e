// Results tab: the confusion matrix of the last evaluation (click a cell to see those test images)
// and a canvas to draw a digit on, with the network's class probabilities live.
#include <algorithm>
#include <cmath>

#include "gui/colormap.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

void confusion(GuiState& s, const Dataset& data) {
  const Text& t = s.t;
  const TrainingStatus& st = s.view.status;
  const int k = data.num_classes;
  ImGui::TextUnformatted(t(Msg::kConfusion));
  item_tooltip(t(Msg::kTipConfusion));
  if (static_cast<int>(st.confusion.size()) != k * k) return;
  const float fs = ImGui::GetFontSize(), cell = fs * 2.1f;
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const ImVec2 a(p0.x + fs * 2.2f, p0.y + fs * 1.2f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddText(ImVec2(a.x, p0.y), ImGui::GetColorU32(ImGuiCol_TextDisabled), t(Msg::kPredictedClass));
  for (int r = 0; r < k; ++r) {
    int64_t row_total = 0;
    for (int c = 0; c < k; ++c) row_total += st.confusion[r * k + c];
    dl->AddText(ImVec2(p0.x, a.y + r * cell + cell * 0.25f), ImGui::GetColorU32(ImGuiCol_Text), std::to_string(r).c_str());
    for (int c = 0; c < k; ++c) {
      const int64_t n = st.confusion[r * k + c];
      const ImVec2 ca(a.x + c * cell, a.y + r * cell), cb(ca.x + cell - 1, ca.y + cell - 1);
      const float frac = row_total ? static_cast<float>(n) / row_total : 0;
      dl->AddRectFilled(ca, cb, r == c ? sequential(0.15f + 0.85f * frac) : diverging(std::sqrt(frac) * 1.5f));
      if (s.results_cell_r == r && s.results_cell_c == c) dl->AddRect(ca, cb, IM_COL32(255, 255, 255, 255), 0, 0, 2);
      if (n) {
        const std::string txt = std::to_string(n);
        dl->AddText(ImVec2(ca.x + (cell - ImGui::CalcTextSize(txt.c_str()).x) / 2, ca.y + cell * 0.25f),
                    frac > 0.5f ? IM_COL32(0, 0, 0, 255) : IM_COL32(235, 235, 235, 255), txt.c_str());
      }
    }
  }
  for (int c = 0; c < k; ++c)
    dl->AddText(ImVec2(a.x + c * cell + cell * 0.35f, a.y + k * cell), ImGui::GetColorU32(ImGuiCol_Text),
                std::to_string(c).c_str());
  dl->AddText(ImVec2(p0.x, a.y + k * cell + fs * 1.1f), ImGui::GetColorU32(ImGuiCol_TextDisabled), t(Msg::kTrueClass));
  ImGui::SetCursorScreenPos(a);
  ImGui::InvisibleButton("confusion", ImVec2(cell * k, cell * k));
  if (ImGui::IsItemHovered()) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    const int c = std::clamp(static_cast<int>((m.x - a.x) / cell), 0, k - 1), r = std::clamp(static_cast<int>((m.y - a.y) / cell), 0, k - 1);
    ImGui::SetTooltip("%s %d (%s) -> %s %d (%s): %lld", t(Msg::kTrueClass), r,
                      r < static_cast<int>(data.class_names.size()) ? data.class_names[r].c_str() : "", t(Msg::kPredictedClass),
                      c, c < static_cast<int>(data.class_names.size()) ? data.class_names[c].c_str() : "",
                      static_cast<long long>(st.confusion[r * k + c]));
    if (ImGui::IsItemClicked()) s.results_cell_r = r, s.results_cell_c = c;
  }
  ImGui::SetCursorScreenPos(ImVec2(p0.x, a.y + k * cell + fs * 2.4f));

  // The selected cell's images (from the same evaluation's per-sample predictions).
  if (s.results_cell_r < 0 || !st.predicted) return;
  const auto& pred = *st.predicted;
  std::vector<int> hits;
  for (int i = 0; i < static_cast<int>(pred.size()) && i < data.test.count; ++i)
    if (data.test.labels[i] == s.results_cell_r && pred[i] == s.results_cell_c) hits.push_back(i);
  ImGui::Text(t(Msg::kCellImages), static_cast<int>(hits.size()), s.results_cell_r, s.results_cell_c);
  const int show = std::min(static_cast<int>(hits.size()), 40);
  const std::string key = std::to_string(reinterpret_cast<uintptr_t>(st.predicted.get())) + ":" +
                          std::to_string(s.results_cell_r) + ":" + std::to_string(s.results_cell_c);
  const int w = data.test.cols, h = data.test.rows, cols = 10;
  if (key != s.results_images_key) {
    s.results_images_key = key;
    const int rows = std::max(1, (show + cols - 1) / cols);
    std::vector<uint32_t> rgba(static_cast<size_t>(cols * w) * rows * h, IM_COL32(30, 30, 36, 255));
    for (int n = 0; n < show; ++n)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const uint8_t v = data.test.pixels[static_cast<size_t>(hits[n]) * w * h + y * w + x];
          rgba[static_cast<size_t>((n / cols) * h + y) * cols * w + (n % cols) * w + x] = IM_COL32(v, v, v, 255);
        }
    s.results_images = s.textures ? s.textures->update("cell_images", cols * w, rows * h, rgba.data()) : nullptr;
    s.results_images_rows = rows;
  }
  if (show > 0 && s.results_images) ImGui::Image(s.results_images, ImVec2(cols * w * 1.5f, s.results_images_rows * h * 1.5f));
}

void canvas(GuiState& s, const Dataset& data) {
  const Text& t = s.t;
  const int w = data.test.cols, h = data.test.rows;
  if (static_cast<int>(s.canvas.size()) != w * h) s.canvas.assign(static_cast<size_t>(w) * h, 0.0f);
  ImGui::TextUnformatted(t(Msg::kDrawDigit));
  item_tooltip(t(Msg::kTipDraw));
  ImGui::SameLine();
  if (ImGui::SmallButton(label(t(Msg::kClear), "clear"))) {
    std::fill(s.canvas.begin(), s.canvas.end(), 0.0f);
    s.canvas_dirty = true;
  }
  const float px = std::floor(ImGui::GetFontSize() * 0.6f);
  const ImVec2 a = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("canvas", ImVec2(w * px, h * px), ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const ImGuiIO& io = ImGui::GetIO();
  if (ImGui::IsItemActive()) {
    // A soft round brush about two pixels wide, stamped along the mouse's path since the last frame.
    const float sign = ImGui::IsMouseDown(ImGuiMouseButton_Right) ? -1.0f : 1.0f;
    const ImVec2 cur((io.MousePos.x - a.x) / px, (io.MousePos.y - a.y) / px);
    const ImVec2 prev = s.canvas_last.x < 0 ? cur : s.canvas_last;
    const int steps = 1 + static_cast<int>(std::hypot(cur.x - prev.x, cur.y - prev.y) * 3);
    for (int k = 0; k <= steps; ++k) {
      const float fx = prev.x + (cur.x - prev.x) * k / steps, fy = prev.y + (cur.y - prev.y) * k / steps;
      for (int y = std::max(0, static_cast<int>(fy) - 2); y <= std::min(h - 1, static_cast<int>(fy) + 2); ++y)
        for (int x = std::max(0, static_cast<int>(fx) - 2); x <= std::min(w - 1, static_cast<int>(fx) + 2); ++x) {
          const float d2 = (x + 0.5f - fx) * (x + 0.5f - fx) + (y + 0.5f - fy) * (y + 0.5f - fy);
          float& v = s.canvas[static_cast<size_t>(y) * w + x];
          v = std::clamp(v + sign * 0.35f * std::exp(-d2 / 1.2f), 0.0f, 1.0f);
        }
    }
    s.canvas_last = cur;
    s.canvas_dirty = true;
  } else {
    s.canvas_last = ImVec2(-1, -1);
  }
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, ImVec2(a.x + w * px, a.y + h * px), IM_COL32(0, 0, 0, 255));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float v = s.canvas[static_cast<size_t>(y) * w + x];
      if (v <= 0.01f) continue;
      const int g = static_cast<int>(v * 255);
      dl->AddRectFilled(ImVec2(a.x + x * px, a.y + y * px), ImVec2(a.x + (x + 1) * px, a.y + (y + 1) * px),
                        IM_COL32(g, g, g, 255));
    }
  dl->AddRect(a, ImVec2(a.x + w * px, a.y + h * px), ImGui::GetColorU32(ImGuiCol_Border));

  if (s.canvas_dirty || s.canvas_weights_step != s.inference.weights_step()) {
    s.inference.forward(s.canvas.data(), s.canvas_probs);
    s.canvas_dirty = false;
    s.canvas_weights_step = s.inference.weights_step();
  }
  ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::TextUnformatted(t(Msg::kProbabilities));
  int best = 0;
  for (size_t c = 0; c < s.canvas_probs.size(); ++c)
    if (s.canvas_probs[c] > s.canvas_probs[best]) best = static_cast<int>(c);
  for (size_t c = 0; c < s.canvas_probs.size(); ++c) {
    const std::string name = std::to_string(c) + " " + (c < data.class_names.size() ? data.class_names[c] : "");
    ImGui::PushStyleColor(ImGuiCol_PlotHistogram, static_cast<int>(c) == best ? IM_COL32(255, 150, 60, 255)
                                                                                 : IM_COL32(120, 170, 255, 255));
    ImGui::ProgressBar(s.canvas_probs[c], ImVec2(ImGui::GetFontSize() * 5, 0), "");
    ImGui::PopStyleColor();
    ImGui::SameLine();
    ImGui::Text("%.2f %s", s.canvas_probs[c], name.c_str());
  }
  ImGui::EndGroup();
}

}  // namespace

void draw_results_tab(GuiState& s) {
  const auto& data = s.view.status.data;
  if (!data || !s.inference.ready()) {
    ImGui::TextUnformatted(s.t(Msg::kNoModel));
    return;
  }
  ImGui::BeginChild("confusion_side", ImVec2(ImGui::GetContentRegionAvail().x * 0.5f, 0));
  confusion(s, *data);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("canvas_side", ImVec2(0, 0));
  canvas(s, *data);
  ImGui::EndChild();
}

}  // namespace podlab::gui
