// Lesson prose -> blocks for the GUI's lesson panel.
#include <catch2/catch.hpp>

#include "lessons/prose.h"

using namespace podlab;
using Kind = ProseBlock::Kind;

TEST_CASE("prose blocks: headings, paragraphs, lists, code and tables", "[lessons][prose]") {
  const auto b = prose_blocks(
      "# Title\n\nA *first* paragraph\nwith `code` and a [link](http://x).\n\n"
      "- one\n- two\n  - nested\n\n```sh\nls -l\npwd\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n");
  REQUIRE(b.size() == 9);
  CHECK((b[0].kind == Kind::kHeading && b[0].level == 1 && b[0].text == "Title"));
  CHECK((b[1].kind == Kind::kParagraph && b[1].text == "A first paragraph with code and a link."));
  CHECK((b[2].kind == Kind::kListItem && b[2].level == 1 && b[2].text == "one"));
  CHECK((b[3].kind == Kind::kListItem && b[3].text == "two"));
  CHECK((b[4].kind == Kind::kListItem && b[4].level == 2 && b[4].text == "nested"));
  CHECK((b[5].kind == Kind::kCode && b[5].text == "ls -l\npwd"));
  CHECK((b[6].kind == Kind::kTableRow && b[6].header && b[6].text == "a | b"));
  CHECK((b[7].kind == Kind::kTableRow && !b[7].header && b[7].text == "1 | 2"));
  CHECK((b[8].kind == Kind::kQuote && b[8].text == "quoted"));
}

TEST_CASE("prose blocks: a line break joins Chinese text and separates words", "[lessons][prose]") {
  const auto b = prose_blocks("\xE4\xB8\xAD\n\xE6\x96\x87 and\nwords\n");
  REQUIRE(b.size() == 1);
  CHECK(b[0].text == "\xE4\xB8\xAD\xE6\x96\x87 and words");
}
