// Subcommand registration. Each app/cmd_*.cpp adds its subcommands to the root CLI11 app; the
// subcommand's callback does the work and stores the process exit code in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/status.h"

namespace podlab {

// Prints "podlab: error: <message>" to stderr (when not ok) and returns the status's exit code.
int report(const Status& status);

// True when stdout is a terminal (progress bars) rather than a pipe or file (JSON lines).
bool stdout_is_terminal();

void add_train_commands(CLI::App& root, int& exit_code);  // train
void add_eval_commands(CLI::App& root, int& exit_code);   // eval, predict
void add_data_commands(CLI::App& root, int& exit_code);   // data list, data fetch
void add_cluster_commands(CLI::App& root, int& exit_code);  // cluster run, ps, worker (and submit)
void add_submit_commands(CLI::App& root, int& exit_code);   // submit
void add_bench_commands(CLI::App& root, int& exit_code);  // bench
void add_k8s_commands(CLI::App& root, int& exit_code);    // k8s render|apply|status|logs|delete
void add_lesson_commands(CLI::App& root, int& exit_code);  // lesson list, lesson run
void add_graph_commands(CLI::App& root, int& exit_code);   // graph (the hello-graph demo)
void add_gui_commands(CLI::App& root, int& exit_code);    // gui

// Plain `podlab`: the GUI when built and a display is available, else the help text.
bool gui_built();
bool gui_default_available();
int run_default_gui();
void add_keys_commands(CLI::App& root, int& exit_code);   // keys generate

// A validator for a number flag: `ok` decides, `want` says what is wanted ("0 or more"). CLI11's own
// NonNegativeNumber and PositiveNumber quote their upper bound in errors, a 300-digit number.
inline CLI::Validator number_validator(bool (*ok)(double), const std::string& want, const std::string& name) {
  return CLI::Validator(
      [ok, want](std::string& in) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(in.c_str(), &end);
        if (in.empty() || end != in.c_str() + in.size()) return "'" + in + "' is not a number";
        return ok(x) ? std::string() : "must be " + want + ", got " + in;
      },
      name);
}
inline const CLI::Validator& non_negative() {
  static const CLI::Validator v = number_validator([](double x) { return x >= 0; }, "0 or more", "NONNEGATIVE");
  return v;
}
// A path flag given an empty value ("--keys ''", an unset shell variable): refused, not taken as unset.
inline const CLI::Validator& non_empty_path() {
  static const CLI::Validator v(
      [](std::string& in) -> std::string { return in.empty() ? "an empty path (leave the flag out instead)" : std::string(); }, "PATH");
  return v;
}
inline const CLI::Validator& positive() {
  static const CLI::Validator v =
      number_validator([](double x) { return x > 0 && std::isfinite(x); }, "a finite number above 0", "POSITIVE");
  return v;
}

}  // namespace podlab
