// A one-line terminal progress bar with ETA, redrawn in place with '\r' (terminals only).
#pragma once

#include <string>

namespace podlab {

// Draws "PREFIX [#####.....]  42%  SUFFIX  ETA 0:12" on stdout. `fraction` in [0,1]; eta_s < 0
// hides the ETA. `suffix` is free text (loss, accuracy, samples/s).
void draw_progress_bar(double fraction, double eta_s, const std::string& prefix, const std::string& suffix);
// Ends the bar's line.
void finish_progress_bar();
// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace podlab
