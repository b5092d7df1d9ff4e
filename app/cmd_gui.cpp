// podlab gui: the desktop app (gui/). Plain `podlab` opens it too when a display is available.
// Without the GUI in the build, the command explains how to get one.
#include <cstdio>

#include "app/command.h"
#ifdef PODLAB_HAVE_GUI
#include "gui/gui.h"
#endif

namespace podlab {
namespace {

constexpr const char* kNoGui =
    "this podlab was built without the GUI. Install its packages and rebuild: "
    "./setup.sh deps (libimgui-dev libglfw3-dev libgl-dev), then "
    "cmake -S . -B build -DPODLAB_GUI=ON && cmake --build build";

}  // namespace

#ifdef PODLAB_HAVE_GUI
bool gui_built() { return true; }
#else
bool gui_built() { return false; }
#endif

bool gui_default_available() {
#ifdef PODLAB_HAVE_GUI
  return gui::display_available();
#else
  return false;
#endif
}

int run_default_gui() {
#ifdef PODLAB_HAVE_GUI
  return gui::run_gui(gui::GuiOptions{});
#else
  return report(Status::Usage(kNoGui));
#endif
}

void add_gui_commands(CLI::App& root, int& exit_code) {
  CLI::App* cmd = root.add_subcommand("gui", "Open the desktop app: train, look inside, run a cluster");
#ifdef PODLAB_HAVE_GUI
  auto o = std::make_shared<gui::GuiOptions>();
  cmd->add_option("--setup", o->setup_file, "Start from a set-up file saved by the GUI (File > Save)");
  cmd->add_option("--data", o->data_dir, "Directory holding the dataset's IDX files (the only place looked when given)");
  cmd->add_option("--lang", o->language, "UI language: en or zh")->check(CLI::IsMember({"en", "zh"}));
  cmd->add_option("--panel", o->panel, "Tab to open first: training, data, graph, inside, results, cluster");
  cmd->add_option("--lesson", o->lesson, "Open the lesson panel with this lesson: a name such as 03-mlp (see podlab lesson list) or a file");
  cmd->add_flag("--lesson-run", o->lesson_run, "With --lesson: run all its steps at once (Run all), e.g. to project a demo");
  cmd->add_option("--screenshot", o->screenshot, "Write a PNG of the last frame (with --frames or --timeout)");
  cmd->add_option("--frames", o->frames, "Exit after N frames (with --train: N frames after training starts)")
      ->check(non_negative());
  cmd->add_option("--timeout", o->timeout_s, "Exit after S seconds")->check(non_negative());
  cmd->add_flag("--train", o->train, "Press Play as soon as the model is ready");
  cmd->add_flag("--cluster", o->cluster, "Start the Cluster tab's run (set-up's ps, workers, mode) once the data is loaded");
  cmd->add_flag("--cluster-processes", o->cluster_processes,
                "Start the Cluster tab's run as real ps/worker processes (podlab cluster run --transport processes)");
  cmd->add_option("--cluster-epochs", o->cluster_epochs, "The Cluster tab's epochs (1-10)")->check(CLI::Range(1, 10));
  cmd->add_flag("--stats", o->stats, "Print frame times (fps, mean/p95/max ms) to stderr every second and at exit");
  cmd->add_option("--fps", o->fps, "Frame rate cap (0: uncapped)")->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--limit-train", o->limit_train, "Use only the first N training samples")
      ->check(non_negative());
  cmd->add_option("--size", [o](const CLI::results_t& r) {
       return r.size() == 1 && std::sscanf(r[0].c_str(), "%dx%d", &o->width, &o->height) == 2 && o->width >= 320 &&
              o->height >= 240;
     }, "Window size WxH (default 1280x800)");
  cmd->callback([o, &exit_code] { exit_code = gui::run_gui(*o); });
#else
  cmd->allow_extras();
  cmd->callback([&exit_code] { exit_code = report(Status::Usage(kNoGui)); });
#endif
}

}  // namespace podlab
