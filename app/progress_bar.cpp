// Progress bar drawing.
#include "app/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace podlab {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

int progress_bar_columns(const std::string& prefix, double eta_s, int cells) {
  // "PREFIX [bar] 100%  " and "  ETA 1:02"
  const int eta = eta_s >= 0 ? 6 + static_cast<int>(format_duration(eta_s).size()) : 0;
  return static_cast<int>(prefix.size()) + 2 + cells + 2 + 4 + 2 + eta;
}

void draw_progress_bar(double fraction, double eta_s, const std::string& prefix, const std::string& suffix, int cells) {
  const int width = std::max(cells, 1);
  if (fraction < 0) fraction = 0;
  if (fraction > 1) fraction = 1;
  const int filled = static_cast<int>(fraction * width + 0.5);
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  std::printf("\r\033[K%s [%s] %3d%%  %s", prefix.c_str(), bar.c_str(), static_cast<int>(fraction * 100 + 0.5),
              suffix.c_str());
  if (eta_s >= 0) std::printf("  ETA %s", format_duration(eta_s).c_str());
  std::fflush(stdout);
}

void finish_progress_bar() {
  std::printf("\n");
  std::fflush(stdout);
}

void clear_progress_bar() {
  std::printf("\r\033[K");
  std::fflush(stdout);
}

int terminal_columns() {
  winsize w{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

}  // namespace podlab
