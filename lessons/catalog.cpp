// Finding and listing lesson files; see catalog.h.
#include "lessons/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "lessons/runner.h"

#ifndef PODLAB_LESSONS_DIR
#define PODLAB_LESSONS_DIR ""
#endif

namespace podlab {

namespace fs = std::filesystem;

std::string find_lessons_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("PODLAB_LESSONS"); env && *env) return env;
  const fs::path exe = self_executable();
  std::vector<fs::path> candidates;
  if (!exe.empty()) {
    candidates.push_back(exe.parent_path().parent_path() / "lessons");
    candidates.push_back(exe.parent_path().parent_path() / "share" / "podlab" / "lessons");
  }
  candidates.push_back(PODLAB_LESSONS_DIR);
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (!p.empty() && fs::is_directory(p / "en", ec)) return p.string();
  }
  return "lessons";
}

std::vector<std::string> lesson_files(const std::string& dir, const std::string& lang) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const std::string& l : {std::string("en"), std::string("zh")}) {
    if (!lang.empty() && lang != "all" && lang != l) continue;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / l, ec))
      if (e.path().extension() == ".md") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve_lesson_path(const std::string& name_or_path, const std::string& dir, const std::string& lang) {
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  if (name_or_path.find('/') != std::string::npos) return "";
  const std::string name = fs::path(name_or_path).extension() == ".md" ? name_or_path : name_or_path + ".md";
  const fs::path p = fs::path(dir) / (lang.empty() || lang == "all" ? "en" : lang) / name;
  return fs::is_regular_file(p, ec) ? p.string() : "";
}

std::vector<LessonEntry> list_lessons(const std::string& dir, const std::string& lang) {
  std::vector<LessonEntry> out;
  for (const std::string& path : lesson_files(dir, lang)) {
    LessonEntry e;
    e.path = path;
    e.name = fs::path(path).stem().string();
    Result<Lesson> l = load_lesson(path);
    if (l.ok()) {
      e.meta = l->meta;
      e.steps = l->steps.size();
    } else {
      e.error = l.status().message();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace podlab
