// A one-line terminal progress bar with ETA, redrawn in place with '\r' (terminals only).
#pragma once

#include <string>

namespace podlab {

// Draws "PREFIX [#####.....]  42%  SUFFIX  ETA 0:12" on stdout, the bar `cells` wide. `fraction` in [0,1]; eta_s < 0
// hides the ETA. `suffix` is free text (loss, accuracy, samples/s).
void draw_progress_bar(double fraction, double eta_s, const std::string& prefix, const std::string& suffix, int cells = 28);
// The columns draw_progress_bar() takes besides its suffix.
int progress_bar_columns(const std::string& prefix, double eta_s, int cells = 28);
// Ends the bar's line.
void finish_progress_bar();
// Erases the bar's line (the cursor stays at its start), for other output in its place.
void clear_progress_bar();
// The width of the terminal on stdout, in columns (80 when it does not say).
int terminal_columns();
// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace podlab
