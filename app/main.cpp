// podlab: subcommand dispatch only. Each subcommand lives in app/cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/command.h"

int main(int argc, char** argv) {
  CLI::App root{"podlab: learn distributed deep learning by doing it (MNIST, parameter servers, Kubernetes)"};
  root.require_subcommand(0, 1);  // none: the GUI on a desktop, else help
  root.set_version_flag("--version", "podlab 0.1.0");
  int exit_code = 0;
  podlab::add_train_commands(root, exit_code);
  podlab::add_eval_commands(root, exit_code);
  podlab::add_data_commands(root, exit_code);
  podlab::add_cluster_commands(root, exit_code);
  podlab::add_bench_commands(root, exit_code);
  podlab::add_k8s_commands(root, exit_code);
  podlab::add_gui_commands(root, exit_code);
  podlab::add_lesson_commands(root, exit_code);
  podlab::add_graph_commands(root, exit_code);
  podlab::add_keys_commands(root, exit_code);
  // Command-line errors look like every other error of podlab's.
  root.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("podlab: error: ") + e.what() + "\nRun with --help for more information.\n";
  });
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = root.exit(e);
    return rc == 0 ? 0 : static_cast<int>(podlab::StatusCode::kUsage);
  }
  if (root.get_subcommands().empty()) {
    if (podlab::gui_default_available()) return podlab::run_default_gui();
    std::fputs(root.help().c_str(), stdout);
    if (podlab::gui_built()) std::fputs("\nNo display found: `podlab gui` needs X11 or Wayland (or xvfb-run).\n", stdout);
    return 0;
  }
  return exit_code;
}
