// Data tab: a page of dataset images with their labels, and the number of images per class.
#include <algorithm>

#include "gui/state.h"

namespace podlab::gui {
namespace {

constexpr int kGridCols = 10, kGridRows = 5;

void count_classes(const Split& split, int classes, std::vector<int>& counts) {
  counts.assign(classes, 0);
  for (uint8_t l : split.labels)
    if (l < classes) ++counts[l];
}

// One RGBA texture holding the page's images side by side, rebuilt when the page changes.
void refresh_texture(GuiState& s, const Split& split, int first) {
  const std::string key = std::to_string(reinterpret_cast<uintptr_t>(&split)) + ":" + std::to_string(first);
  if (key == s.data_texture_key) return;
  s.data_texture_key = key;
  const int r = split.rows, c = split.cols, W = kGridCols * c, H = kGridRows * r;
  std::vector<uint32_t> rgba(static_cast<size_t>(W) * H, IM_COL32(0, 0, 0, 255));
  for (int k = 0; k < kGridCols * kGridRows && first + k < split.count; ++k) {
    const uint8_t* img = &split.pixels[static_cast<size_t>(first + k) * split.features()];
    const int ox = (k % kGridCols) * c, oy = (k / kGridCols) * r;
    for (int y = 0; y < r; ++y)
      for (int x = 0; x < c; ++x) {
        const uint8_t v = img[y * c + x];
        rgba[static_cast<size_t>(oy + y) * W + ox + x] = IM_COL32(v, v, v, 255);
      }
  }
  s.data_texture = s.textures ? s.textures->update("data_grid", W, H, rgba.data()) : nullptr;
}

}  // namespace

void draw_data_tab(GuiState& s) {
  const Text& t = s.t;
  const auto& data = s.view.status.data;
  const char* names[] = {t(Msg::kDatasetAuto), "mnist", "fashion-mnist"};
  int ds = s.setup.dataset == "mnist" ? 1 : s.setup.dataset == "fashion-mnist" ? 2 : 0;
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 12);
  if (ImGui::Combo(label(t(Msg::kDataset), "dataset"), &ds, names, 3)) s.setup.dataset = ds == 0 ? "" : names[ds];
  item_tooltip(t(Msg::kTipDataset));
  if (!data) {
    ImGui::TextUnformatted(s.view.status.phase == "error" ? s.view.status.error.c_str() : t(Msg::kLoadingData));
    return;
  }
  ImGui::SameLine();
  ImGui::TextDisabled("%s  (%s)", data->name.c_str(), data->dir.c_str());
  if (ImGui::RadioButton(label(t(Msg::kTrainSplit), "trainsplit"), !s.data_show_test)) s.data_show_test = false;
  item_tooltip(t(Msg::kTipSplit));
  ImGui::SameLine();
  if (ImGui::RadioButton(label(t(Msg::kTestSplit), "testsplit"), s.data_show_test)) s.data_show_test = true;
  item_tooltip(t(Msg::kTipSplit));
  const Split& split = s.data_show_test ? data->test : data->train;
  const int per_page = kGridCols * kGridRows;
  const int pages = std::max(1, (split.count + per_page - 1) / per_page);
  s.data_page = std::clamp(s.data_page, 0, pages - 1);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
  ImGui::SliderInt(label(t(Msg::kPage), "page"), &s.data_page, 0, pages - 1);
  const int first = s.data_page * per_page;
  ImGui::SameLine();
  ImGui::Text(t(Msg::kImagesShown), first + 1, std::min(first + per_page, split.count), split.count);

  refresh_texture(s, split, first);
  const float cell = std::min(ImGui::GetContentRegionAvail().x / kGridCols,
                              (ImGui::GetContentRegionAvail().y * 0.62f) / kGridRows);
  const float img = cell - ImGui::GetFontSize() * 1.1f;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  for (int k = 0; k < per_page && first + k < split.count; ++k) {
    const int gx = k % kGridCols, gy = k / kGridCols;
    const ImVec2 a(p0.x + gx * cell, p0.y + gy * cell), b(a.x + img, a.y + img);
    if (s.data_texture) {
      const ImVec2 uv0(static_cast<float>(gx) / kGridCols, static_cast<float>(gy) / kGridRows);
      const ImVec2 uv1(static_cast<float>(gx + 1) / kGridCols, static_cast<float>(gy + 1) / kGridRows);
      dl->AddImage(s.data_texture, a, b, uv0, uv1);
    } else {
      dl->AddRect(a, b, ImGui::GetColorU32(ImGuiCol_Border));
    }
    const int lab = split.labels[first + k];
    const std::string& name = lab < static_cast<int>(data->class_names.size()) ? data->class_names[lab] : "?";
    char text[64];
    std::snprintf(text, sizeof text, "%d %s", lab, name.c_str());
    dl->PushClipRect(ImVec2(a.x, b.y), ImVec2(a.x + cell - 2, b.y + ImGui::GetFontSize() + 2), true);
    dl->AddText(ImVec2(a.x, b.y), ImGui::GetColorU32(ImGuiCol_Text), text);
    dl->PopClipRect();
  }
  ImGui::Dummy(ImVec2(cell * kGridCols, cell * kGridRows));

  if (s.data_counts_for != data.get()) {
    count_classes(data->train, data->num_classes, s.train_counts);
    count_classes(data->test, data->num_classes, s.test_counts);
    s.data_counts_for = data.get();
  }
  ImGui::TextUnformatted(t(Msg::kClassCounts));
  item_tooltip(t(Msg::kTipClassCounts));
  const std::vector<int>& counts = s.data_show_test ? s.test_counts : s.train_counts;
  const int max_count = std::max(1, *std::max_element(counts.begin(), counts.end()));
  const float bar_h = ImGui::GetFontSize() * 1.05f;
  const float name_w = ImGui::GetFontSize() * 8, bar_w = ImGui::GetContentRegionAvail().x - name_w - ImGui::GetFontSize() * 4;
  for (int c = 0; c < static_cast<int>(counts.size()); ++c) {
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const std::string name = c < static_cast<int>(data->class_names.size()) ? data->class_names[c] : std::to_string(c);
    dl->AddText(p, ImGui::GetColorU32(ImGuiCol_Text), (std::to_string(c) + " " + name).c_str());
    const float len = bar_w * counts[c] / max_count;
    dl->AddRectFilled(ImVec2(p.x + name_w, p.y + 2), ImVec2(p.x + name_w + len, p.y + bar_h - 2),
                      IM_COL32(120, 170, 255, 255));
    dl->AddText(ImVec2(p.x + name_w + len + 4, p.y), ImGui::GetColorU32(ImGuiCol_Text), std::to_string(counts[c]).c_str());
    ImGui::Dummy(ImVec2(name_w + bar_w, bar_h));
  }
}

}  // namespace podlab::gui
