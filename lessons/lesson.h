// A lesson: a Markdown file with front matter, prose, and fenced blocks that podlab runs and checks
// (the format is documented in lessons/README.md). This header is the model the headless runner
// (`podlab lesson run`) and the GUI's lesson panel share: parse a file into steps, run a step
// (lessons/runner.h), evaluate its checks.
//
// Parsing uses md4c (CommonMark), so fences, indentation and nesting follow the Markdown rules a
// reader's renderer uses. Every error names the file and line: "lessons/en/03-mlp.md:42: ...".
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"
#include "lessons/expression.h"

namespace podlab {

// The `key: value` lines between the opening and closing `---`.
struct LessonMeta {
  std::string title;
  std::string language;  // "en" or "zh"
  std::string level;     // "beginner", "intermediate" or "advanced"
  std::string duration;  // free text for people, e.g. "20 min"
  std::string dataset;   // "fashion-mnist", "mnist" or "none"
};

// When a check applies: in both modes, or only in a normal or only in a --fast run.
enum class CheckMode { kBoth, kNormal, kFast };

struct Check {
  int line = 0;  // 1-based line in the lesson file
  CheckMode mode = CheckMode::kBoth;
  Expression expression;  // a condition (Expression::is_condition())
  std::string note;       // the text after '#', shown in the report; may be empty
};

// One ```podlab block: one podlab command (run headless) or a GUI set-up (`podlab gui ...`, shown by
// the GUI's lesson panel and skipped by the headless runner).
struct Step {
  int line = 0;                        // line of the opening fence
  std::string heading;                 // the closest heading above the block ("" if none)
  std::string prose;                   // the Markdown source between the previous block and this one
  std::string command;                 // the command as written (continuation lines joined)
  std::vector<std::string> args;       // the arguments after "podlab", quotes removed
  std::vector<std::string> fast_args;  // appended in --fast runs (the fence's fast="..." attribute)
  int timeout_s = 300;                 // the fence's timeout=SECONDS; a step running longer is killed
  std::string panel;                   // the fence's panel=NAME: the GUI panel this step is about
  bool gui = false;                    // a GUI set-up: `podlab gui ...`
  std::vector<Check> checks;           // from the ```check blocks that follow, in order

  // The arguments to run, with fast_args appended when `fast`.
  std::vector<std::string> run_args(bool fast) const;
};

struct QuizOption {
  std::string text;
  bool correct = false;
};

// One ```quiz block: a question, options marked `- [x]` (right) or `- [ ]` (wrong), and an optional
// explanation after `explain:`.
struct Quiz {
  int line = 0;
  int after_step = -1;  // index of the step the quiz follows (-1: before the first step)
  std::string question;
  std::vector<QuizOption> options;
  std::string explanation;
};

struct Lesson {
  std::string path;
  LessonMeta meta;
  std::vector<Step> steps;
  std::vector<Quiz> quizzes;
  std::string closing_prose;  // the Markdown source after the last block
  int check_count(bool fast) const;
};

// Reads and parses a lesson file. Errors: Status::Io when unreadable, Status::Config with
// "PATH:LINE: what is wrong" for a malformed lesson.
Result<Lesson> load_lesson(const std::string& path);

// Parses lesson text; `path` is used in error messages only.
Result<Lesson> parse_lesson(const std::string& text, const std::string& path);

// Splits a command line as a POSIX shell would split a simple command: whitespace separates words,
// '...' and "..." quote, a backslash escapes the next character. Pipes, redirections, ';', '&', '$'
// and backquotes outside quotes are errors: a step is one podlab command, not a shell script.
Result<std::vector<std::string>> split_command(const std::string& command);

}  // namespace podlab
