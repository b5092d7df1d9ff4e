// Axis ticks, range fitting and the ImDrawList plot.
#include "gui/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace podlab::gui {

AxisTicks nice_ticks(double lo, double hi, int max_ticks) {
  AxisTicks t;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return t;
  if (hi < lo) std::swap(lo, hi);
  if (max_ticks < 2) max_ticks = 2;
  if (hi - lo <= 0) {  // a single value: ticks around it
    const double half = std::max(0.5, std::fabs(lo) / 2);
    lo -= half;
    hi += half;
  }
  const double range = hi - lo;
  const double raw = range / (max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  t.step = step;
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i < 1000; ++i) {
    const double v = first + i * step;
    if (v > hi + step * 1e-9) break;
    t.values.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string format_tick(double v, const AxisTicks& t) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e6 && t.step >= 1e5)
    std::snprintf(buf, sizeof buf, "%.*fM", t.step >= 1e6 ? 0 : 1, v / 1e6);
  else if (a >= 1e4 && t.step >= 1e3)
    std::snprintf(buf, sizeof buf, "%.*fk", t.step >= 1e4 ? 0 : 1, v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.*f", t.decimals, v);
  return buf;
}

PlotRange fit_range(const PlotSeries* series, int n, bool wall_time, bool x_fixed, PlotRange current) {
  PlotRange r = current;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int s = 0; s < n; ++s) {
    if (!series[s].points) continue;
    for (const MetricPoint& p : *series[s].points) {
      const double x = point_x(p, wall_time);
      if (!std::isfinite(x) || !std::isfinite(p.value)) continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      if (x_fixed && (x < current.x0 || x > current.x1)) continue;
      y0 = std::min(y0, p.value);
      y1 = std::max(y1, p.value);
    }
  }
  if (!x_fixed) {
    if (x0 > x1) x0 = 0, x1 = 1;
    if (x1 - x0 <= 0) x0 -= 0.5, x1 += 0.5;
    r.x0 = x0, r.x1 = x1;
  }
  if (y0 > y1) y0 = 0, y1 = 1;
  if (y1 - y0 <= 0) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.05 * (y1 - y0);
  r.y0 = y0 - pad, r.y1 = y1 + pad;
  return r;
}

namespace {

// Index of the point nearest to x in a series with ascending x, or -1 when empty.
int nearest_index(const std::vector<MetricPoint>& pts, double x, bool wall_time) {
  if (pts.empty()) return -1;
  auto it = std::lower_bound(pts.begin(), pts.end(), x, [&](const MetricPoint& p, double v) {
    return point_x(p, wall_time) < v;
  });
  int i = static_cast<int>(it - pts.begin());
  if (i >= static_cast<int>(pts.size())) return static_cast<int>(pts.size()) - 1;
  if (i > 0 && x - point_x(pts[i - 1], wall_time) < point_x(pts[i], wall_time) - x) --i;
  return i;
}

}  // namespace

void draw_plot(const char* id, const char* x_label, const char* y_label, PlotView& view, bool wall_time,
               const PlotSeries* series, int n, ImVec2 size) {
  ImGui::PushID(id);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("plot", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float fh = ImGui::GetFontSize();
  // Plot area inside margins for tick labels and axis names.
  const ImVec2 a(p0.x + fh * 4.0f, p0.y + fh * 0.6f);
  const ImVec2 b(p0.x + size.x - fh * 0.6f, p0.y + size.y - fh * 2.4f);
  const float w = std::max(1.0f, b.x - a.x), h = std::max(1.0f, b.y - a.y);
  ImGuiIO& io = ImGui::GetIO();

  if (hovered && ImGui::IsMouseDoubleClicked(0)) view.fit = true;
  if (hovered && io.MouseWheel != 0) {
    const double mx = view.range.x0 + (io.MousePos.x - a.x) / w * (view.range.x1 - view.range.x0);
    const double k = io.MouseWheel > 0 ? 0.8 : 1.25;
    view.range.x0 = mx - (mx - view.range.x0) * k;
    view.range.x1 = mx + (view.range.x1 - mx) * k;
    view.fit = false;
  }
  view.range = fit_range(series, n, wall_time, !view.fit, view.range);
  const PlotRange& r = view.range;
  auto sx = [&](double x) { return a.x + static_cast<float>((x - r.x0) / (r.x1 - r.x0)) * w; };
  auto sy = [&](double y) { return b.y - static_cast<float>((y - r.y0) / (r.y1 - r.y0)) * h; };

  const ImU32 grid = ImGui::GetColorU32(ImGuiCol_Border, 0.6f), text = ImGui::GetColorU32(ImGuiCol_Text);
  const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  // No filled plot background: under software GL every blended pixel counts (see frame.cpp).
  const AxisTicks xt = nice_ticks(r.x0, r.x1, std::max(2, static_cast<int>(w / (fh * 5))));
  const AxisTicks yt = nice_ticks(r.y0, r.y1, std::max(2, static_cast<int>(h / (fh * 2.2f))));
  for (double v : xt.values) {
    const float x = sx(v);
    dl->AddLine(ImVec2(x, a.y), ImVec2(x, b.y), grid);
    const std::string s = format_tick(v, xt);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(x - tw / 2, b.y + 2), text, s.c_str());
  }
  for (double v : yt.values) {
    const float y = sy(v);
    dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), grid);
    const std::string s = format_tick(v, yt);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(a.x - tw - 4, y - fh / 2), text, s.c_str());
  }
  dl->AddRect(a, b, ImGui::GetColorU32(ImGuiCol_Border));
  const float xlw = ImGui::CalcTextSize(x_label).x;
  dl->AddText(ImVec2(a.x + w / 2 - xlw / 2, b.y + fh * 1.2f), dim, x_label);
  dl->AddText(ImVec2(p0.x, p0.y), dim, y_label);

  // Series, thinned to about two points per pixel column.
  dl->PushClipRect(a, b, true);
  std::vector<ImVec2> line;
  for (int s = 0; s < n; ++s) {
    if (!series[s].points || series[s].points->empty()) continue;
    const auto& pts = *series[s].points;
    const size_t stride = std::max<size_t>(1, pts.size() / static_cast<size_t>(2 * w));
    line.clear();
    for (size_t i = 0; i < pts.size(); i += stride) line.emplace_back(sx(point_x(pts[i], wall_time)), sy(pts[i].value));
    if ((pts.size() - 1) % stride) line.emplace_back(sx(point_x(pts.back(), wall_time)), sy(pts.back().value));
    if (line.size() == 1) dl->AddCircleFilled(line[0], 3, series[s].colour);
    dl->AddPolyline(line.data(), static_cast<int>(line.size()), series[s].colour, 0, 1.5f);
  }
  dl->PopClipRect();

  // Legend, top right inside the plot.
  float ly = a.y + 4;
  for (int s = 0; s < n; ++s) {
    const float tw = ImGui::CalcTextSize(series[s].label).x;
    const float lx = b.x - tw - fh * 1.6f;
    dl->AddRectFilled(ImVec2(lx, ly + fh * 0.35f), ImVec2(lx + fh * 0.8f, ly + fh * 0.65f), series[s].colour);
    dl->AddText(ImVec2(lx + fh, ly), text, series[s].label);
    ly += fh;
  }

  if (hovered && io.MousePos.x >= a.x && io.MousePos.x <= b.x) {
    const double x = r.x0 + (io.MousePos.x - a.x) / w * (r.x1 - r.x0);
    dl->AddLine(ImVec2(io.MousePos.x, a.y), ImVec2(io.MousePos.x, b.y), dim);
    ImGui::BeginTooltip();
    ImGui::Text("%s %.4g", x_label, x);
    for (int s = 0; s < n; ++s) {
      if (!series[s].points) continue;
      const int i = nearest_index(*series[s].points, x, wall_time);
      if (i < 0) continue;
      const MetricPoint& p = (*series[s].points)[i];
      dl->AddCircleFilled(ImVec2(sx(point_x(p, wall_time)), sy(p.value)), 3.5f, series[s].colour);
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(series[s].colour), "%s: %.4f  (step %.0f, %.1f s)",
                         series[s].label, p.value, p.step, p.wall_s);
    }
    ImGui::EndTooltip();
  }
  ImGui::PopID();
}

}  // namespace podlab::gui
