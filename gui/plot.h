// Line plots drawn with ImDrawList (ImPlot is not packaged in Debian 12): axes with "nice" ticks and
// labels, several series, a legend, a hover read-out, wheel zoom on x and zoom-to-fit.
// The tick and range functions are pure so tests can check them without a frame.
#pragma once

#include <string>
#include <vector>

#include "gui/snapshot.h"
#include "imgui.h"

namespace podlab::gui {

// Ticks at multiples of 1, 2 or 5 x 10^k covering [lo, hi] with at most max_ticks values.
struct AxisTicks {
  std::vector<double> values;
  double step = 1;
  int decimals = 0;  // digits after the point that tell the ticks apart
};
AxisTicks nice_ticks(double lo, double hi, int max_ticks);
// "0.25", "1500", "12k", "3.5M": short labels for tick values.
std::string format_tick(double v, const AxisTicks& ticks);

struct PlotRange {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
};

struct PlotSeries {
  const char* label = "";
  const std::vector<MetricPoint>* points = nullptr;  // x ascending
  ImU32 colour = 0;
};

// x of a point: its step or its wall time.
inline double point_x(const MetricPoint& p, bool wall_time) { return wall_time ? p.wall_s : p.step; }

// The range holding every point (x over all of them; y over the points with x in [x0, x1] when
// `x_fixed`), padded by 5% in y; a range of zero width grows to a unit around its value.
PlotRange fit_range(const PlotSeries* series, int n, bool wall_time, bool x_fixed, PlotRange current);

// Per-plot interaction state (lives in GuiState).
struct PlotView {
  bool fit = true;  // follow the data; false after a wheel zoom, until double-click or "fit"
  PlotRange range;
};

// Draws into the current window, `size` in pixels. Hovering shows every series' value at the mouse's x.
void draw_plot(const char* id, const char* x_label, const char* y_label, PlotView& view, bool wall_time,
               const PlotSeries* series, int n, ImVec2 size);

}  // namespace podlab::gui
