// Axis ticks and range fitting of the ImDrawList plots.
#include <catch2/catch.hpp>

#include "gui/plot.h"

using namespace podlab::gui;

TEST_CASE("nice ticks are 1, 2 or 5 times a power of ten inside the range", "[gui][plot]") {
  AxisTicks t = nice_ticks(0, 1, 6);
  REQUIRE(t.step == Approx(0.2));
  REQUIRE(t.decimals == 1);
  REQUIRE(t.values.size() == 6);
  CHECK(t.values.front() == 0);
  CHECK(t.values.back() == Approx(1.0));

  t = nice_ticks(0, 937, 6);
  CHECK(t.step == 200);
  CHECK(t.decimals == 0);
  CHECK(t.values == std::vector<double>{0, 200, 400, 600, 800});

  t = nice_ticks(0.31, 0.87, 4);  // raw step 0.187 -> 0.2
  CHECK(t.step == Approx(0.2));
  REQUIRE(t.values.size() == 3);
  CHECK(t.values[0] == Approx(0.4));
  CHECK(t.values[2] == Approx(0.8));

  t = nice_ticks(-3, 3, 7);
  CHECK(t.step == 1);
  CHECK(t.values.size() == 7);
  CHECK(t.values[3] == 0.0);

  t = nice_ticks(0.0001, 0.00045, 5);
  CHECK(t.step == Approx(0.0001));
  CHECK(t.decimals == 4);
}

TEST_CASE("nice ticks survive degenerate ranges", "[gui][plot]") {
  CHECK_FALSE(nice_ticks(5, 5, 5).values.empty());          // zero width
  CHECK(nice_ticks(10, 0, 6).values == nice_ticks(0, 10, 6).values);  // reversed
  CHECK(nice_ticks(0, INFINITY, 5).values.empty());
  CHECK(nice_ticks(0, 1, 1).values.size() <= 2);              // max_ticks below 2 means 2
}

TEST_CASE("tick labels are short", "[gui][plot]") {
  CHECK(format_tick(0.25, nice_ticks(0, 1, 21)) == "0.25");
  CHECK(format_tick(400, nice_ticks(0, 1000, 6)) == "400");
  CHECK(format_tick(20000, nice_ticks(0, 100000, 6)) == "20k");
  CHECK(format_tick(2500000, nice_ticks(0, 5e6, 11)) == "2.5M");
}

TEST_CASE("fit_range covers every point with 5% padding in y", "[gui][plot]") {
  std::vector<MetricPoint> a = {{0, 0, 2.0}, {10, 1, 1.0}, {20, 2, 0.5}};
  std::vector<MetricPoint> b = {{5, 0.5, 3.0}};
  const PlotSeries s[] = {{"a", &a, 0}, {"b", &b, 0}};
  PlotRange r = fit_range(s, 2, false, false, {});
  CHECK(r.x0 == 0);
  CHECK(r.x1 == 20);
  CHECK(r.y0 == Approx(0.5 - 0.125));
  CHECK(r.y1 == Approx(3.0 + 0.125));
  r = fit_range(s, 2, true, false, {});  // against wall time
  CHECK(r.x1 == 2);
  // x fixed (zoomed): y fits only the visible points.
  r = fit_range(s, 2, false, true, PlotRange{9, 21, 0, 0});
  CHECK(r.x0 == 9);
  CHECK(r.y0 == Approx(0.5 - 0.025));
  CHECK(r.y1 == Approx(1.0 + 0.025));
  // No points: a unit range.
  r = fit_range(s, 0, false, false, {});
  CHECK(r.x1 - r.x0 == 1);
}
