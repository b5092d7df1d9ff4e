// Lesson files: what the parser extracts, and the file:line errors for malformed lessons.
#include <catch2/catch.hpp>

#include "lessons/lesson.h"

using namespace podlab;

namespace {

const char* kFront = "---\ntitle: T\nlanguage: en\nlevel: beginner\nduration: 5 min\ndataset: none\n---\n";  // 7 lines

std::string parse_error(const std::string& body, const std::string& front = kFront) {
  Result<Lesson> l = parse_lesson(front + body, "x.md");
  REQUIRE_FALSE(l.ok());
  CHECK(l.status().code() == StatusCode::kConfig);
  return l.status().message();
}

}  // namespace

TEST_CASE("lesson parser: steps, attributes, checks, quizzes and prose", "[lessons][parser]") {
  const std::string text = std::string(kFront) +
                           "# Title\n"                                                                    // 8
                           "Intro prose.\n"                                                               // 9
                           "\n"                                                                           // 10
                           "## Train it\n"                                                                // 11
                           "```podlab fast=\"--epochs 1 --limit-train 600\" timeout=60 panel=training\n"  // 12
                           "podlab train --model softmax \\\n"                                            // 13
                           "  --dataset 'fashion-mnist'\n"                                                // 14
                           "```\n"                                                                        // 15
                           "Between.\n"                                                                   // 16
                           "```check\n"                                                                   // 17
                           "exit_code == 0\n"                                                             // 18
                           "# a comment line\n"                                                           // 19
                           "normal: test_accuracy >= 0.84   # after 5 epochs\n"                           // 20
                           "fast: test_accuracy >= 0.7\n"                                                 // 21
                           "```\n"                                                                        // 22
                           "```quiz\n"                                                                    // 23
                           "Why?\n"                                                                       // 24
                           "- [ ] no\n"                                                                   // 25
                           "- [x] yes\n"                                                                  // 26
                           "explain: because\n"                                                           // 27
                           "it is.\n"                                                                     // 28
                           "```\n"                                                                        // 29
                           "```sh\n"                                                                      // 30
                           "echo not a step\n"                                                            // 31
                           "```\n"                                                                        // 32
                           "```podlab\n"                                                                  // 33
                           "podlab gui --panel cluster\n"                                                 // 34
                           "```\n"                                                                        // 35
                           "The end.\n";
  Result<Lesson> l = parse_lesson(text, "x.md");
  INFO(l.status().message());
  REQUIRE(l.ok());
  CHECK(l->meta.title == "T");
  CHECK(l->meta.language == "en");
  CHECK(l->meta.level == "beginner");
  CHECK(l->meta.duration == "5 min");
  CHECK(l->meta.dataset == "none");
  REQUIRE(l->steps.size() == 2);

  const Step& s = l->steps[0];
  CHECK(s.line == 12);
  CHECK(s.heading == "Train it");
  CHECK(s.args == std::vector<std::string>{"train", "--model", "softmax", "--dataset", "fashion-mnist"});
  CHECK(s.fast_args == std::vector<std::string>{"--epochs", "1", "--limit-train", "600"});
  CHECK(s.run_args(true).size() == 9);
  CHECK(s.run_args(false).size() == 5);
  CHECK(s.timeout_s == 60);
  CHECK(s.panel == "training");
  CHECK_FALSE(s.gui);
  CHECK(s.prose.find("Intro prose.") != std::string::npos);
  REQUIRE(s.checks.size() == 3);
  CHECK(s.checks[0].line == 18);
  CHECK(s.checks[0].mode == CheckMode::kBoth);
  CHECK(s.checks[1].line == 20);
  CHECK(s.checks[1].mode == CheckMode::kNormal);
  CHECK(s.checks[1].note == "after 5 epochs");
  CHECK(s.checks[1].expression.text() == "test_accuracy >= 0.84");
  CHECK(s.checks[2].mode == CheckMode::kFast);
  CHECK(l->check_count(false) == 2);
  CHECK(l->check_count(true) == 2);

  REQUIRE(l->quizzes.size() == 1);
  const Quiz& q = l->quizzes[0];
  CHECK(q.line == 23);
  CHECK(q.after_step == 0);
  CHECK(q.question == "Why?");
  REQUIRE(q.options.size() == 2);
  CHECK_FALSE(q.options[0].correct);
  CHECK(q.options[1].correct);
  CHECK(q.explanation == "because it is.");

  CHECK(l->steps[1].gui);
  CHECK(l->steps[1].line == 33);
  // Prose between blocks belongs to the next step; the shell block is prose, not a step.
  CHECK(l->steps[1].prose.find("Between.") != std::string::npos);
  CHECK(l->steps[1].prose.find("echo not a step") != std::string::npos);
  CHECK(l->steps[1].prose.find("```check") == std::string::npos);
  CHECK(l->closing_prose.find("The end.") != std::string::npos);
}

TEST_CASE("lesson parser: blocks nested in a longer fence are prose (md4c, not a line scan)", "[lessons][parser]") {
  const std::string text = std::string(kFront) +
                           "````markdown\n"
                           "```podlab\n"
                           "podlab train\n"
                           "```\n"
                           "````\n"
                           "~~~podlab\n"
                           "podlab graph\n"
                           "~~~\n"
                           "    ```podlab\n"
                           "    podlab indented code is prose\n";
  Result<Lesson> l = parse_lesson(text, "x.md");
  INFO(l.status().message());
  REQUIRE(l.ok());
  REQUIRE(l->steps.size() == 1);
  CHECK(l->steps[0].args == std::vector<std::string>{"graph"});
  CHECK(l->steps[0].line == 13);
}

TEST_CASE("lesson parser: front matter errors", "[lessons][parser]") {
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n", "# no front matter\n"),
             Catch::StartsWith("x.md:1: ") && Catch::Contains("front matter"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nlanguage: en\n"),
             Catch::Contains("x.md:1: the front matter is not closed"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nlanguage: fr\n---\n"),
             Catch::StartsWith("x.md:3: language must be en or zh"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nauthor: me\n---\n"),
             Catch::StartsWith("x.md:3: unknown front matter key 'author'"));
  CHECK_THAT(parse_error("", "---\ntitle: T\ntitle: U\n---\n"), Catch::StartsWith("x.md:3: 'title' is given twice"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nlanguage: en\nlevel: beginner\nduration: 1\n---\n"),
             Catch::Contains("no 'dataset:' line"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nlanguage: en\nlevel: expert\n---\n"),
             Catch::StartsWith("x.md:4: level must be"));
  CHECK_THAT(parse_error("", "---\ntitle: T\nlanguage: en\nlevel: beginner\nduration: 1\ndataset: cifar\n---\n"),
             Catch::StartsWith("x.md:6: dataset must be"));
  CHECK_THAT(parse_error("", "---\ntitle T\n---\n"), Catch::StartsWith("x.md:2: expected 'key: value'"));
}

TEST_CASE("lesson parser: block errors carry the line", "[lessons][parser]") {
  // Line 8 is the first line after the front matter.
  CHECK_THAT(parse_error("Prose only.\n"), Catch::Contains("x.md:8: the lesson has no ```podlab block"));
  CHECK_THAT(parse_error("```check\nexit_code == 0\n```\n"), Catch::StartsWith("x.md:8: a ```check block must follow"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\npodlab graph --layers 2\n```\n"),
             Catch::StartsWith("x.md:8: a ```podlab block holds one command"));
  CHECK_THAT(parse_error("```podlab\n```\n"), Catch::StartsWith("x.md:8: this ```podlab block is empty"));
  CHECK_THAT(parse_error("\n```podlab\ntrain --epochs 1\n```\n"),
             Catch::StartsWith("x.md:9: the command must start with 'podlab'"));
  CHECK_THAT(parse_error("```podlab\npodlab\n```\n"), Catch::Contains("needs a subcommand"));
  CHECK_THAT(parse_error("```podlab\npodlab train | tee log\n```\n"), Catch::Contains("'|' is shell syntax"));
  CHECK_THAT(parse_error("```podlab\npodlab train --data $HOME\n```\n"), Catch::Contains("'$' is shell syntax"));
  CHECK_THAT(parse_error("```podlab\npodlab train --model 'cnn\n```\n"), Catch::Contains("unclosed ' quote"));
  CHECK_THAT(parse_error("```podlab retries=3\npodlab graph\n```\n"),
             Catch::StartsWith("x.md:8: unknown attribute 'retries'"));
  CHECK_THAT(parse_error("```podlab timeout=soon\npodlab graph\n```\n"),
             Catch::Contains("timeout must be a whole number"));
  CHECK_THAT(parse_error("```podlab fast=\"--epochs 1\npodlab graph\n```\n"), Catch::Contains("no closing quote"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n\n```check\nexit_code == 0\n\nops >= = 6\n```\n"),
             Catch::StartsWith("x.md:15: check 'ops >= = 6': column 8"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```check\nops\n```\n"),
             Catch::StartsWith("x.md:12: check 'ops' is a number, not a condition"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```check\n# only a comment\n```\n"),
             Catch::StartsWith("x.md:11: this ```check block holds no checks"));
  CHECK_THAT(parse_error("```podlab\npodlab gui\n```\n```check\nexit_code == 0\n```\n"),
             Catch::StartsWith("x.md:11: a GUI set-up step has no results"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```quiz\nQ?\n- [ ] a\n- [ ] b\n```\n"),
             Catch::StartsWith("x.md:11: no option is marked right"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```quiz\nQ?\n- [x] a\n```\n"),
             Catch::StartsWith("x.md:11: a quiz needs at least two options"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```quiz\n- [x] a\n- [ ] b\n```\n"),
             Catch::StartsWith("x.md:11: the quiz has no question"));
  CHECK_THAT(parse_error("```podlab\npodlab graph\n```\n```quiz\nQ?\n- [x] a\nstray\n```\n"),
             Catch::StartsWith("x.md:14: expected an option"));
}

TEST_CASE("lesson parser: commands split like a shell's simple command", "[lessons][parser]") {
  Result<std::vector<std::string>> w =
      split_command(R"(podlab cluster run --cluster '{"ps": ["a:1"]}' --x "a b" c\ d)");
  REQUIRE(w.ok());
  CHECK(*w ==
        std::vector<std::string>{"podlab", "cluster", "run", "--cluster", R"({"ps": ["a:1"]})", "--x", "a b", "c d"});
  CHECK_FALSE(split_command("podlab train; rm -rf x").ok());
  CHECK_FALSE(split_command("podlab train > log").ok());
  CHECK_FALSE(split_command("podlab train `id`").ok());
  CHECK_FALSE(split_command("podlab train &").ok());
}

TEST_CASE("lesson parser: unreadable file is an io error", "[lessons][parser]") {
  Result<Lesson> l = load_lesson("/nonexistent/lesson.md");
  REQUIRE_FALSE(l.ok());
  CHECK(l.status().code() == StatusCode::kIo);
}
