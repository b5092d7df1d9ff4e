// Running lesson steps and evaluating their checks. A step runs the podlab binary itself as a child
// process (its stdout is a pipe, so podlab prints JSON lines), bounded by the step's timeout; the
// check variables come from the JSON it printed:
//
//   exit_code          the child's exit status (128 + signal when killed)
//   wall_seconds       wall-clock time of the step, measured by the runner
//   timed_out          1 when the step was stopped at its timeout, else 0. A step that times out
//                      fails all its checks, unless one of them reads timed_out (a hang on purpose)
//   NAME               every number or boolean (1/0) of the last JSON object printed (the final
//                      report: test_accuracy, steps, ...); nested fields joined by '.', array
//                      elements by index: ps_tasks.0.applied
//   ARRAY.FIELD.min|max|sum|mean   over the elements of an array of objects: ps_tasks.floats.max;
//                      ARRAY.count is its length
//   EVENT.NAME         the same for the last line of each "event" kind: start.parameters,
//                      epoch.test_accuracy; lines with a "work" name (podlab bench) likewise:
//                      mlp_b100.samples_per_s (characters other than letters, digits, '_' become '_')
//   items.*            when the whole output is one JSON document that is an array (podlab k8s
//                      render --json): items.count, items.3.spec.completions, ...
//
// Used by `podlab lesson run` and meant for the GUI's lesson panel (run a step on a worker thread,
// pass `cancel` to stop it, show the CheckResults).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "lessons/expression.h"
#include "lessons/lesson.h"

namespace podlab {

struct RunOptions {
  bool fast = false;           // use the steps' fast arguments and the fast checks
  std::string podlab_binary;   // the program to run ("" = this process's own executable)
  std::string work_dir;        // the steps' working directory (relative paths in lessons land here)
  std::string data_dir;        // passed to steps as PODLAB_DATA when not empty
  double timeout_scale = 1.0;  // multiplies each step's timeout
  std::function<void(const std::string&)> on_stdout_line;  // each line the step prints, as it comes
  const std::atomic<bool>* cancel = nullptr;               // stops a running step when it turns true
};

struct StepOutcome {
  bool skipped = false;  // a GUI set-up step: nothing runs headless
  bool started = false;  // false: the program could not be started (see error)
  bool timed_out = false;
  bool cancelled = false;
  int exit_code = -1;
  double seconds = 0;
  std::string error;     // why the step did not run to the end, for people
  std::string out, err;  // captured output
  Variables variables;
};

struct CheckResult {
  const Check* check = nullptr;
  bool passed = false;
  std::string detail;  // "test_accuracy = 0.8427", or why it could not be evaluated
};

// The path of the running executable (/proc/self/exe resolved), or "" when unknown.
std::string self_executable();

// Runs one step (not the GUI set-ups: those come back skipped).
StepOutcome run_step(const Step& step, const RunOptions& options);

// The check variables from a step's stdout (JSON lines) plus exit_code and wall_seconds.
Variables variables_from_output(const std::string& out, int exit_code, double seconds);

// Evaluates the step's checks that apply in this mode (all fail when the step did not finish).
std::vector<CheckResult> evaluate_checks(const Step& step, const StepOutcome& outcome, bool fast);

// Whether the lesson's dataset is present (its front matter `dataset`), searched as podlab train
// searches with --data `data_dir`. Status::Data says where it looked and how to get it.
Status check_lesson_dataset(const Lesson& lesson, const std::string& data_dir);

}  // namespace podlab
