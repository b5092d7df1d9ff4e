// The shipped lessons: every file parses, every English lesson has a Chinese one and the other way
// round, and a translation runs exactly what the original runs (same steps, attributes and checks;
// same quizzes with the same right answers). Prose, notes and headings are translated and not compared.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "lessons/lesson.h"

using namespace podlab;
namespace fs = std::filesystem;

namespace {

const fs::path kLessons = fs::path(PODLAB_TEST_DIR).parent_path() / "lessons";

std::set<std::string> names(const std::string& lang) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(kLessons / lang))
    if (e.path().extension() == ".md") out.insert(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("lessons: every lesson exists in English and Chinese", "[lessons][content]") {
  const std::set<std::string> en = names("en"), zh = names("zh");
  CHECK(en.size() >= 11);
  CHECK(en == zh);
}

TEST_CASE("lessons: a translation runs and checks exactly what the original does", "[lessons][content]") {
  for (const std::string& name : names("en")) {
    INFO(name);
    Result<Lesson> en = load_lesson((kLessons / "en" / name).string());
    Result<Lesson> zh = load_lesson((kLessons / "zh" / name).string());
    INFO(en.status().message() << zh.status().message());
    REQUIRE(en.ok());
    REQUIRE(zh.ok());
    CHECK(en->meta.language == "en");
    CHECK(zh->meta.language == "zh");
    CHECK(en->meta.level == zh->meta.level);
    CHECK(en->meta.dataset == zh->meta.dataset);
    REQUIRE(en->steps.size() == zh->steps.size());
    for (size_t i = 0; i < en->steps.size(); ++i) {
      const Step &a = en->steps[i], &b = zh->steps[i];
      INFO("step " << i + 1 << " at line " << a.line);
      CHECK(a.args == b.args);
      CHECK(a.fast_args == b.fast_args);
      CHECK(a.timeout_s == b.timeout_s);
      CHECK(a.panel == b.panel);
      REQUIRE(a.checks.size() == b.checks.size());
      for (size_t c = 0; c < a.checks.size(); ++c) {
        CHECK(a.checks[c].expression.text() == b.checks[c].expression.text());
        CHECK(a.checks[c].mode == b.checks[c].mode);
      }
    }
    REQUIRE(en->quizzes.size() == zh->quizzes.size());
    for (size_t q = 0; q < en->quizzes.size(); ++q) {
      REQUIRE(en->quizzes[q].options.size() == zh->quizzes[q].options.size());
      for (size_t o = 0; o < en->quizzes[q].options.size(); ++o)
        CHECK(en->quizzes[q].options[o].correct == zh->quizzes[q].options[o].correct);
      CHECK(en->quizzes[q].after_step == zh->quizzes[q].after_step);
    }
  }
}
