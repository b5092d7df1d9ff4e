// Inside tab: first-layer weights as images (MLP/softmax: one 28x28 image per unit; CNN: the conv
// filters), the activations of one test image in every layer, and weight histograms over time.
#include <algorithm>
#include <cmath>

#include "gui/colormap.h"
#include "gui/state.h"

namespace podlab::gui {
namespace {

// Tiles `count` images of w x h from `pixel(k, x, y)` into one RGBA texture, `cols` per row with a
// 1-pixel gap; returns the texture and its size.
template <typename F>
ImTextureID tile_texture(GuiState& s, const std::string& key, int count, int w, int h, int cols, F pixel,
                         int* tw, int* th) {
  const int rows = (count + cols - 1) / cols;
  *tw = cols * (w + 1);
  *th = rows * (h + 1);
  std::vector<uint32_t> rgba(static_cast<size_t>(*tw) * *th, IM_COL32(30, 30, 36, 255));
  for (int k = 0; k < count; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        rgba[static_cast<size_t>((k / cols) * (h + 1) + y) * *tw + (k % cols) * (w + 1) + x] = pixel(k, x, y);
  return s.textures ? s.textures->update(key, *tw, *th, rgba.data()) : nullptr;
}

void show_texture(ImTextureID tex, int tw, int th, float max_w, float max_h) {
  if (tw <= 0 || th <= 0) return;
  const float scale = std::max(1.0f, std::floor(std::min(max_w / tw, max_h / th)));
  const ImVec2 size(tw * std::min(scale, max_w / tw), th * std::min(scale, max_h / th));
  if (tex) ImGui::Image(tex, size);
  else ImGui::Dummy(size);
}

void first_layer(GuiState& s, Network& net, const FloatBuffer& w) {
  const ParamLayout& layout = net.layout();
  int var = -1;
  for (size_t i = 0; i < layout.params().size(); ++i)
    if (layout[static_cast<int>(i)].name.find("weights") != std::string::npos) {
      var = static_cast<int>(i);
      break;
    }
  if (var < 0) return;
  const ParamInfo& p = layout[var];
  const float* v = w.data() + p.offset;
  const Shape in = net.input_shape();
  const std::string kind = net.layers()[0]->kind();
  int count = 0, iw = 0, ih = 0;
  // rows x cols weights: an image per column (unit / filter) when the rows map to pixels.
  if (p.rows == in.size()) {
    count = std::min(p.cols, 100), iw = in.w, ih = in.h;
  } else if (kind == "Conv2D" && in.c == 1) {
    const int k = static_cast<int>(std::lround(std::sqrt(p.rows)));
    if (k * k == p.rows) count = std::min(p.cols, 64), iw = ih = k;
  }
  const std::string key = "first:" + std::to_string(s.inference.weights_step()) + ":" + p.name;
  if (key != s.first_layer_key) {
    s.first_layer_key = key;
    if (count > 0) {
      std::vector<float> scale(count, 1e-12f);
      for (int u = 0; u < count; ++u)
        for (int r = 0; r < p.rows; ++r) scale[u] = std::max(scale[u], std::fabs(v[r * p.cols + u]));
      const int cols = count <= 10 ? count : count <= 64 ? 8 : 10;
      s.first_layer_tex = tile_texture(s, "first_layer", count, iw, ih, cols, [&](int u, int x, int y) {
        return diverging(v[(y * iw + x) * p.cols + u] / scale[u]);
      }, &s.first_layer_w, &s.first_layer_h);
    } else {  // anything else: the matrix itself, at most 256 x 256 samples of it
      float m = 1e-12f;
      for (size_t i = 0; i < p.size(); ++i) m = std::max(m, std::fabs(v[i]));
      const int W = std::min(p.cols, 256), H = std::min(p.rows, 256);
      s.first_layer_tex = tile_texture(s, "first_layer", 1, W, H, 1, [&](int, int x, int y) {
        return diverging(v[static_cast<size_t>(y * p.rows / H) * p.cols + x * p.cols / W] / m);
      }, &s.first_layer_w, &s.first_layer_h);
    }
  }
  ImGui::Text("%s  %s [%d x %d]", s.t(Msg::kFirstLayer), p.name.c_str(), p.rows, p.cols);
  item_tooltip(s.t(Msg::kTipFirstLayer));
  show_texture(s.first_layer_tex, s.first_layer_w, s.first_layer_h, ImGui::GetContentRegionAvail().x * 0.5f,
               ImGui::GetFontSize() * 15);
}

void activations(GuiState& s, Network& net, const Dataset& data) {
  ImGui::TextUnformatted(s.t(Msg::kActivations));
  item_tooltip(s.t(Msg::kTipActivations));
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
  ImGui::SliderInt("##sample", &s.inside_sample, 0, data.test.count - 1);
  s.inside_sample = std::clamp(s.inside_sample, 0, data.test.count - 1);
  const std::string key = std::to_string(s.inference.weights_step()) + ":" + std::to_string(s.inside_sample) +
                          ":" + s.view.status.model_spec;
  const int n_layers = static_cast<int>(net.layers().size());
  if (key != s.activation_key) {
    s.activation_key = key;
    std::vector<float> img(data.test.features());
    for (int i = 0; i < data.test.features(); ++i)
      img[i] = data.test.pixels[static_cast<size_t>(s.inside_sample) * data.test.features() + i] / 255.0f;
    s.inference.forward(img.data(), s.inside_probs);
    s.activation_tex.assign(n_layers + 1, nullptr);
    s.activation_size.assign(n_layers + 1, ImVec2(0, 0));
    for (int k = -1; k < n_layers; ++k) {
      const Matrix& a = net.activation(k);
      const Shape sh = k < 0 ? net.input_shape() : net.layers()[k]->output_shape();
      // Maps: h x w per channel (first 16 channels) for images; a near-square grid for vectors.
      const bool spatial = sh.h > 1 && sh.w > 1;
      const int maps = spatial ? std::min(sh.c, 16) : 1;
      const int mw = spatial ? sh.w : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(a.cols()))));
      const int mh = spatial ? sh.h : static_cast<int>((a.cols() + mw - 1) / mw);
      float lo = 0, hi = 1e-12f;
      for (Eigen::Index i = 0; i < a.cols(); ++i) lo = std::min(lo, a(0, i)), hi = std::max(hi, a(0, i));
      const float m = std::max(hi, -lo);
      int tw = 0, th = 0;
      ImTextureID tex = tile_texture(s, "act" + std::to_string(k), maps, mw, mh, std::min(maps, 8), [&](int c, int x, int y) {
        const int i = spatial ? (y * sh.w + x) * sh.c + c : y * mw + x;
        if (i >= a.cols()) return static_cast<uint32_t>(IM_COL32(30, 30, 36, 255));
        return lo < 0 ? diverging(a(0, i) / m) : sequential(a(0, i) / m);
      }, &tw, &th);
      s.activation_tex[k + 1] = tex;
      s.activation_size[k + 1] = ImVec2(static_cast<float>(tw), static_cast<float>(th));
    }
  }
  const float fs = ImGui::GetFontSize();
  const std::string& cn = data.class_names.empty() ? std::string() : data.class_names[data.test.labels[s.inside_sample]];
  ImGui::Text("label %d %s", data.test.labels[s.inside_sample], cn.c_str());
  ImGui::BeginChild("acts", ImVec2(0, fs * 9), false, ImGuiWindowFlags_HorizontalScrollbar);
  for (int k = -1; k < n_layers; ++k) {
    if (k + 1 >= static_cast<int>(s.activation_tex.size())) break;
    ImGui::BeginGroup();
    const std::string name = k < 0 ? "input" : net.layers()[k]->scope() + " " + net.layers()[k]->kind();
    ImGui::TextUnformatted(name.c_str());
    const ImVec2 sz = s.activation_size[k + 1];
    show_texture(s.activation_tex[k + 1], static_cast<int>(sz.x), static_cast<int>(sz.y), fs * 14, fs * 7);
    ImGui::EndGroup();
    ImGui::SameLine();
  }
  // The three most probable classes for this image.
  ImGui::BeginGroup();
  std::vector<int> order(s.inside_probs.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = static_cast<int>(c);
  std::sort(order.begin(), order.end(), [&](int x, int y) { return s.inside_probs[x] > s.inside_probs[y]; });
  for (size_t r = 0; r < std::min<size_t>(3, order.size()); ++r) {
    const int c = order[r];
    ImGui::Text("%d %s: %.2f", c, c < static_cast<int>(data.class_names.size()) ? data.class_names[c].c_str() : "",
                s.inside_probs[c]);
  }
  ImGui::EndGroup();
  ImGui::EndChild();
}

void histograms(GuiState& s, Network& net) {
  ImGui::TextUnformatted(s.t(Msg::kHistograms));
  item_tooltip(s.t(Msg::kTipHistograms));
  const auto& params = net.layout().params();
  if (params.empty()) return;
  s.hist_var = std::clamp(s.hist_var, 0, static_cast<int>(params.size()) - 1);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(ImGui::GetFontSize() * 14);
  if (ImGui::BeginCombo(label(s.t(Msg::kVariable), "histvar"), params[s.hist_var].name.c_str())) {
    for (size_t i = 0; i < params.size(); ++i)
      if (ImGui::Selectable(params[i].name.c_str(), static_cast<int>(i) == s.hist_var)) s.hist_var = static_cast<int>(i);
    ImGui::EndCombo();
  }
  const WeightHistory& h = s.history;
  if (s.hist_var >= static_cast<int>(h.ranges.size()) || h.snapshots.empty()) return;
  const float lo = h.ranges[s.hist_var].first, hi = h.ranges[s.hist_var].second;
  ImGui::SameLine();
  ImGui::TextDisabled("[%.3g, %.3g]", lo, hi);
  const float fs = ImGui::GetFontSize();
  const ImVec2 a = ImGui::GetCursorScreenPos();
  const float W = ImGui::GetContentRegionAvail().x, H = std::max(fs * 5, ImGui::GetContentRegionAvail().y - fs);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(a, ImVec2(a.x + W, a.y + H), IM_COL32(20, 20, 26, 255));
  const int n = static_cast<int>(h.snapshots.size());
  const float cw = W / n, ch = H / kHistogramBins;
  for (int t = 0; t < n; ++t) {
    const std::vector<float>& bins = h.snapshots[t].bins[s.hist_var];
    float m = 1e-12f;
    for (float b : bins) m = std::max(m, b);
    for (int b = 0; b < kHistogramBins; ++b) {
      if (bins[b] <= 0) continue;
      const float y = a.y + H - (b + 1) * ch;
      dl->AddRectFilled(ImVec2(a.x + t * cw, y), ImVec2(a.x + (t + 1) * cw + 0.5f, y + ch + 0.5f),
                        sequential(std::sqrt(bins[b] / m)));
    }
  }
  ImGui::InvisibleButton("hist", ImVec2(W, H));
  if (ImGui::IsItemHovered()) {
    const int t = std::clamp(static_cast<int>((ImGui::GetIO().MousePos.x - a.x) / cw), 0, n - 1);
    ImGui::SetTooltip("step %lld", static_cast<long long>(h.snapshots[t].step));
  }
}

}  // namespace

void update_weight_history(WeightHistory& h, const Network& net, const FloatBuffer& w, int64_t step) {
  const auto& params = net.layout().params();
  if (h.ranges.size() != params.size()) {
    h = WeightHistory{};
    for (const ParamInfo& p : params) {
      float m = 0;
      for (size_t i = 0; i < p.size(); ++i) m = std::max(m, std::fabs(w[p.offset + i]));
      m = m > 0 ? m * 2 : 0.1f;  // room to spread while training
      h.ranges.emplace_back(-m, m);
    }
  }
  WeightHistory::Snapshot snap;
  snap.step = step;
  for (size_t v = 0; v < params.size(); ++v) {
    const ParamInfo& p = params[v];
    std::vector<float> bins(kHistogramBins, 0);
    const float lo = h.ranges[v].first, hi = h.ranges[v].second;
    const size_t stride = std::max<size_t>(1, p.size() / 100000);  // bounded work per variable
    for (size_t i = 0; i < p.size(); i += stride) {
      const int b = static_cast<int>((w[p.offset + i] - lo) / (hi - lo) * kHistogramBins);
      ++bins[std::clamp(b, 0, kHistogramBins - 1)];
    }
    snap.bins.push_back(std::move(bins));
  }
  h.snapshots.push_back(std::move(snap));
  if (h.snapshots.size() > kHistorySnapshots) {  // keep every other old snapshot: the whole run stays visible
    std::vector<WeightHistory::Snapshot> thinned;
    for (size_t i = 0; i < h.snapshots.size(); i += 2) thinned.push_back(std::move(h.snapshots[i]));
    h.snapshots = std::move(thinned);
  }
}

void draw_inside_tab(GuiState& s) {
  Network* net = s.inference.network();
  const auto& data = s.view.status.data;
  if (!net || !s.inference.ready() || !data) {
    ImGui::TextUnformatted(s.t(Msg::kNoModel));
    return;
  }
  ImGui::TextDisabled(s.t(Msg::kWeightsAtStep), static_cast<long long>(s.inference.weights_step()));
  first_layer(s, *net, *s.inference.weights());
  activations(s, *net, *data);
  histograms(s, *net);
}

}  // namespace podlab::gui
