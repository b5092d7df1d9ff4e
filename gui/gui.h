// The desktop app's entry point, called by `podlab gui` (app/cmd_gui.cpp).
#pragma once

#include <string>

namespace podlab::gui {

struct GuiOptions {
  std::string setup_file;   // --setup: start from this set-up file
  std::string data_dir;     // --data
  std::string language;     // --lang en|zh ("" = from the set-up)
  std::string panel;        // --panel: tab to open first
  std::string lesson;       // --lesson: open the lesson panel with this lesson (a name such as 03-mlp, or a file)
  bool lesson_run = false;  // --lesson-run: press the lesson's Run all once it is open
  std::string screenshot;   // --screenshot: PNG of the last frame
  int frames = 0;           // --frames: exit after this many frames (0: run until closed)
  double timeout_s = 0;     // --timeout: exit after this many seconds (0: none)
  bool train = false;       // --train: press Play once the model is ready
  bool cluster = false;     // --cluster: start the Cluster tab's run once the data is loaded
  bool cluster_processes = false;  // --cluster-processes: start it as processes at once
  int cluster_epochs = 1;          // --cluster-epochs: the Cluster tab's epochs
  bool stats = false;       // --stats: frame times to stderr every second and at exit
  int fps = 60;             // --fps: frame rate cap (0: uncapped)
  int limit_train = -1;     // --limit-train: overrides the set-up (-1: keep)
  int width = 1280, height = 800;
};

// True when an X11 or Wayland display is named in the environment.
bool display_available();

// Runs the window until closed (or --frames / --timeout); returns a process exit code and prints
// errors ("podlab: error: ...") itself.
int run_gui(const GuiOptions& options);

}  // namespace podlab::gui
