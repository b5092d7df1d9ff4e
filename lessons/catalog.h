// Where the lesson files are and which ones there are: the shared logic of `podlab lesson list`,
// `podlab lesson run NAME` and the GUI's lesson panel.
#pragma once

#include <string>
#include <vector>

#include "engine/status.h"
#include "lessons/lesson.h"

namespace podlab {

// The folder holding en/ and zh/: `flag` when given, else $PODLAB_LESSONS, else lessons/ beside the
// build directory or under share/podlab/ of the install prefix, else the source tree this binary was
// built from, else "lessons".
std::string find_lessons_dir(const std::string& flag);

// The *.md files of `dir`/en and/or `dir`/zh (`lang`: "en", "zh", or "all"/"" for both), sorted.
std::vector<std::string> lesson_files(const std::string& dir, const std::string& lang);

// `name_or_path` as given when it is a file or holds a '/', else the lesson NAME (with or without
// .md) in `dir`/`lang`; "" when neither exists.
std::string resolve_lesson_path(const std::string& name_or_path, const std::string& dir, const std::string& lang);

// One lesson file of a listing: its parsed front matter, or why it could not be read.
struct LessonEntry {
  std::string path;
  std::string name;  // the file name without .md: "03-mlp"
  LessonMeta meta;
  size_t steps = 0;
  std::string error;  // non-empty when the file is malformed or unreadable
};
std::vector<LessonEntry> list_lessons(const std::string& dir, const std::string& lang);

}  // namespace podlab
