// `podlab lesson list` and `podlab lesson run FILE [--fast]`: the headless lesson runner. Each step
// runs this same binary as a child process in a fresh temporary directory (relative paths in lessons,
// such as --checkpoint-dir ckpt, land there); the checks read the JSON it prints (lessons/runner.h).
// Exit codes: 0 every check passed, 7 a check failed, 3 malformed lesson, 4 dataset missing,
// 5 unreadable file, 130 interrupted.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/command.h"
#include "lessons/catalog.h"
#include "lessons/lesson.h"
#include "lessons/runner.h"

namespace podlab {
namespace {

namespace fs = std::filesystem;
constexpr int kCheckFailed = 7;

std::atomic<bool> g_cancel{false};
extern "C" void on_lesson_signal(int) { g_cancel = true; }

struct LessonFlags {
  std::string file, dir, lang = "en", data_dir;
  bool fast = false, vars = false, keep = false;
  double timeout_scale = 1.0;
};

// `text` padded with spaces to `columns` terminal columns; CJK characters take two columns.
std::string padded(const std::string& text, int columns) {
  int width = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    width += len >= 3 ? 2 : 1;  // three- and four-byte UTF-8: CJK and other wide characters
    i += static_cast<size_t>(len);
  }
  return text + std::string(static_cast<size_t>(std::max(0, columns - width)), ' ');
}

int print_lesson_list(const LessonFlags& f) {
  const std::string dir = find_lessons_dir(f.dir);
  const std::vector<LessonEntry> entries = list_lessons(dir, f.lang);
  if (entries.empty())
    return report(
        Status::Io("no lessons in " + dir + "/" + f.lang + " (give --dir DIR, the folder holding en/ and zh/)"));
  std::printf("%-28s %-4s %-13s %-9s %5s  %s\n", "lesson", "lang", "level", "duration", "steps", "title");
  int bad = 0;
  for (const LessonEntry& e : entries) {
    const std::string rel = fs::path(e.path).parent_path().filename().string() + "/" + fs::path(e.path).filename().string();
    if (!e.error.empty()) {
      std::printf("%-28s  malformed: %s\n", rel.c_str(), e.error.c_str());
      ++bad;
      continue;
    }
    std::printf("%-28s %-4s %-13s %s %5zu  %s\n", rel.c_str(), e.meta.language.c_str(), e.meta.level.c_str(),
                padded(e.meta.duration, 9).c_str(), e.steps, e.meta.title.c_str());
  }
  std::printf("\nRun one: podlab lesson run %s/%s/01-hello-graph.md [--fast]\n", dir.c_str(),
              f.lang == "all" ? "en" : f.lang.c_str());
  return bad ? static_cast<int>(StatusCode::kConfig) : 0;
}

// FILE as given, else a lesson name (with or without .md) in the lessons folder for --lang.
std::string resolve_lesson(const LessonFlags& f) {
  const std::string p = resolve_lesson_path(f.file, find_lessons_dir(f.dir), f.lang);
  return p.empty() ? f.file : p;  // load_lesson then says the file cannot be read
}

// Echoes what a running step prints: epoch summaries from JSON lines, other lines as they are.
void echo_line(const std::string& line, int& shown) {
  if (!line.empty() && line[0] == '{') {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "epoch" && j.contains("test_accuracy")) {
      std::printf("      epoch %d  test_accuracy %.4f\n", j.value("epoch", 0), j["test_accuracy"].get<double>());
      std::fflush(stdout);
    }
    return;
  }
  if (++shown <= 40)
    std::printf("      | %s\n", line.c_str());
  else if (shown == 41)
    std::printf("      | ...\n");
  std::fflush(stdout);
}

void print_tail(const std::string& text, int max_lines) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  const size_t from = lines.size() > static_cast<size_t>(max_lines) ? lines.size() - max_lines : 0;
  for (size_t i = from; i < lines.size(); ++i) std::printf("      stderr| %s\n", lines[i].c_str());
}

int run_lesson(const LessonFlags& f) {
  const std::string path = resolve_lesson(f);
  Result<Lesson> lesson = load_lesson(path);
  if (!lesson.ok()) return report(lesson.status());
  if (Status st = check_lesson_dataset(*lesson, f.data_dir); !st.ok()) return report(st);

  std::string tmpl = (fs::temp_directory_path() / "podlab-lesson-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    return report(Status::Io("cannot create a temporary directory in " + fs::temp_directory_path().string()));
  const std::string work_dir = tmpl;

  struct sigaction sa {};
  sa.sa_handler = on_lesson_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const LessonMeta& m = lesson->meta;
  std::printf("Lesson: %s\n  %s  (%s, %s, %s, dataset %s)\n  mode: %s; working directory %s\n\n", m.title.c_str(),
              path.c_str(), m.language.c_str(), m.level.c_str(), m.duration.c_str(), m.dataset.c_str(),
              f.fast ? "--fast (smaller data, fewer epochs)" : "normal", work_dir.c_str());
  std::fflush(stdout);

  int passed = 0, failed = 0, shown = 0;
  double total_s = 0;
  RunOptions opt;
  opt.fast = f.fast;
  opt.work_dir = work_dir;
  opt.data_dir = f.data_dir;
  opt.timeout_scale = f.timeout_scale;
  opt.cancel = &g_cancel;
  opt.on_stdout_line = [&shown](const std::string& line) { echo_line(line, shown); };
  const size_t n = lesson->steps.size();
  for (size_t i = 0; i < n && !g_cancel; ++i) {
    const Step& step = lesson->steps[i];
    std::string cmd = "podlab";
    for (const std::string& a : step.run_args(f.fast))
      cmd += " " + (a.find_first_of(" \"{}[]") == std::string::npos ? a : "'" + a + "'");
    std::printf("[%zu/%zu] %s  (line %d)\n  $ %s\n", i + 1, n, step.heading.empty() ? "step" : step.heading.c_str(),
                step.line, cmd.c_str());
    std::fflush(stdout);
    shown = 0;
    const StepOutcome o = run_step(step, opt);
    total_s += o.seconds;
    if (o.skipped) {
      std::printf("  skipped: a GUI set-up (open `podlab gui` to follow it)\n\n");
      continue;
    }
    std::printf("  exit code %d after %.1f s%s%s\n", o.exit_code, o.seconds, o.error.empty() ? "" : ": ",
                o.error.c_str());
    const std::vector<CheckResult> results = evaluate_checks(step, o, f.fast);
    bool any_failed = false;
    for (const CheckResult& r : results) {
      r.passed ? ++passed : ++failed;
      any_failed |= !r.passed;
      std::printf("  %s  %s%s%s   [%s]\n", r.passed ? "PASS" : "FAIL", r.check->expression.text().c_str(),
                  r.check->note.empty() ? "" : "   # ", r.check->note.c_str(), r.detail.c_str());
    }
    if ((any_failed || o.exit_code != 0) && !o.err.empty()) print_tail(o.err, 8);
    if (f.vars)
      for (const auto& kv : o.variables) std::printf("      %s = %g\n", kv.first.c_str(), kv.second);
    std::printf("\n");
    std::fflush(stdout);
  }
  std::error_code ec;
  if (f.keep)
    std::printf("Kept the working directory %s\n", work_dir.c_str());
  else
    fs::remove_all(work_dir, ec);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (g_cancel) {
    std::printf("Interrupted: %d checks passed, %d failed before the stop.\n", passed, failed);
    return static_cast<int>(StatusCode::kInterrupted);
  }
  std::printf("%s: %zu steps, %d of %d checks passed, %.1f s of steps%s\n", failed ? "FAILED" : "PASSED", n, passed,
              passed + failed, total_s, f.fast ? " (--fast)" : "");
  return failed ? kCheckFailed : 0;
}

}  // namespace

void add_lesson_commands(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<LessonFlags>();
  CLI::App* lesson = root.add_subcommand("lesson", "Course lessons: list them, run one headless and check its results");
  lesson->require_subcommand(1);

  CLI::App* list = lesson->add_subcommand("list", "List the lessons (title, language, level, duration, steps)");
  list->add_option("--dir", flags->dir, "Folder holding en/ and zh/ (default: the lessons shipped with podlab)");
  list->add_option("--lang", flags->lang, "en, zh or all")->check(CLI::IsMember({"en", "zh", "all"}));
  list->callback([flags, &exit_code] { exit_code = print_lesson_list(*flags); });

  CLI::App* run = lesson->add_subcommand("run", "Run a lesson's steps headless and evaluate its checks");
  run->add_option("file", flags->file, "Lesson file, or a lesson name such as 03-mlp (found with --dir/--lang)")
      ->required();
  run->add_flag("--fast", flags->fast,
                "Smaller data and fewer epochs (each step's fast=\"...\" arguments; fast checks)");
  run->add_option("--dir", flags->dir, "Folder holding en/ and zh/, for lesson names");
  run->add_option("--lang", flags->lang, "Language folder for lesson names: en or zh")
      ->check(CLI::IsMember({"en", "zh"}));
  run->add_option("--data", flags->data_dir, "Directory holding the dataset (passed to every step as PODLAB_DATA)");
  run->add_option("--timeout-scale", flags->timeout_scale, "Multiply every step's timeout (slow machines)")
      ->check(CLI::Range(0.1, 100.0));
  run->add_flag("--vars", flags->vars, "Print every variable a check could read, after each step");
  run->add_flag("--keep", flags->keep, "Keep the steps' working directory");
  run->callback([flags, &exit_code] { exit_code = run_lesson(*flags); });
}

}  // namespace podlab
