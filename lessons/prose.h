// Lesson prose as a list of blocks to lay out (the GUI's lesson panel): Markdown parsed with md4c
// into headings, paragraphs, list items, code blocks, quotes and table rows, with inline markup
// removed (code spans keep their text, links their label).
#pragma once

#include <string>
#include <vector>

namespace podlab {

struct ProseBlock {
  enum class Kind { kHeading, kParagraph, kListItem, kCode, kQuote, kTableRow };
  Kind kind = Kind::kParagraph;
  int level = 0;     // heading level 1-6; list nesting depth (1 = top level)
  std::string text;  // UTF-8; code keeps its newlines; a table row joins its cells with " | "
  bool header = false;  // a table's header row
};

// Should md4c fail (out of memory), the whole text comes back as one paragraph.
std::vector<ProseBlock> prose_blocks(const std::string& markdown);

}  // namespace podlab
