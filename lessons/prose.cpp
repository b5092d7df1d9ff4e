// Markdown -> ProseBlocks with md4c; see prose.h.
#include "lessons/prose.h"

#include <md4c.h>

namespace podlab {
namespace {

struct Builder {
  std::vector<ProseBlock> blocks;
  int list_depth = 0, quote_depth = 0;
  bool in_cell = false, row_header = false;
  bool open = false;  // a block is collecting text
  bool soft_break = false;  // a line break inside a paragraph, not yet written
  ProseBlock cur;
  std::vector<std::string> cells;

  void begin(ProseBlock::Kind kind, int level) {
    finish();
    cur = ProseBlock{};
    cur.kind = kind;
    soft_break = false;
    cur.level = level;
    open = true;
  }
  void finish() {
    if (!open) return;
    while (!cur.text.empty() && (cur.text.back() == ' ' || cur.text.back() == '\n')) cur.text.pop_back();
    if (!cur.text.empty()) blocks.push_back(cur);
    open = false;
  }
};

int enter_block(MD_BLOCKTYPE type, void* detail, void* user) {
  auto& b = *static_cast<Builder*>(user);
  switch (type) {
    case MD_BLOCK_H: b.begin(ProseBlock::Kind::kHeading, static_cast<MD_BLOCK_H_DETAIL*>(detail)->level); break;
    case MD_BLOCK_CODE: b.begin(ProseBlock::Kind::kCode, 0); break;
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      b.finish();  // a nested list ends the text of the item it is in
      ++b.list_depth;
      break;
    case MD_BLOCK_LI: b.begin(ProseBlock::Kind::kListItem, b.list_depth); break;
    case MD_BLOCK_QUOTE: ++b.quote_depth; break;
    case MD_BLOCK_P:
      // A paragraph inside a list item continues the item; elsewhere it is a block of its own.
      if (!(b.open && b.cur.kind == ProseBlock::Kind::kListItem))
        b.begin(b.quote_depth ? ProseBlock::Kind::kQuote : ProseBlock::Kind::kParagraph, 0);
      else if (!b.cur.text.empty())
        b.cur.text += ' ';
      break;
    case MD_BLOCK_TR:
      b.finish();
      b.cells.clear();
      b.row_header = false;
      break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
      b.in_cell = true;
      b.row_header |= type == MD_BLOCK_TH;
      b.cells.emplace_back();
      break;
    default: break;
  }
  return 0;
}

int leave_block(MD_BLOCKTYPE type, void*, void* user) {
  auto& b = *static_cast<Builder*>(user);
  switch (type) {
    case MD_BLOCK_UL:
    case MD_BLOCK_OL: --b.list_depth; break;
    case MD_BLOCK_QUOTE: --b.quote_depth; break;
    case MD_BLOCK_H:
    case MD_BLOCK_CODE:
    case MD_BLOCK_LI: b.finish(); break;
    case MD_BLOCK_P:
      if (!(b.open && b.cur.kind == ProseBlock::Kind::kListItem)) b.finish();
      break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD: b.in_cell = false; break;
    case MD_BLOCK_TR: {
      ProseBlock row;
      row.kind = ProseBlock::Kind::kTableRow;
      row.header = b.row_header;
      for (size_t i = 0; i < b.cells.size(); ++i) row.text += (i ? " | " : "") + b.cells[i];
      b.blocks.push_back(row);
      break;
    }
    default: break;
  }
  return 0;
}

int on_span(MD_SPANTYPE, void*, void*) { return 0; }

int on_text(MD_TEXTTYPE type, const MD_CHAR* text, MD_SIZE size, void* user) {
  auto& b = *static_cast<Builder*>(user);
  std::string piece(text, size);
  if (type == MD_TEXT_SOFTBR) {
    b.soft_break = true;
    return 0;
  }
  if (type == MD_TEXT_BR) piece = "\n";
  if (type == MD_TEXT_NULLCHAR) piece = "\xEF\xBF\xBD";
  if (type == MD_TEXT_ENTITY) {
    if (piece == "&amp;") piece = "&";
    else if (piece == "&lt;") piece = "<";
    else if (piece == "&gt;") piece = ">";
    else if (piece == "&quot;") piece = "\"";
    else if (piece == "&nbsp;") piece = " ";
  }
  std::string* to = b.in_cell ? (b.cells.empty() ? nullptr : &b.cells.back()) : b.open ? &b.cur.text : nullptr;
  if (!to) return 0;
  if (b.soft_break) {
    // A line break between two Chinese (non-ASCII) characters joins them; otherwise it is a space.
    const bool wide = !to->empty() && static_cast<unsigned char>(to->back()) >= 0x80 && !piece.empty() &&
                      static_cast<unsigned char>(piece[0]) >= 0x80;
    if (!wide) *to += ' ';
    b.soft_break = false;
  }
  *to += piece;
  return 0;
}

}  // namespace

std::vector<ProseBlock> prose_blocks(const std::string& markdown) {
  Builder b;
  MD_PARSER parser{};
  parser.abi_version = 0;
  parser.flags = MD_DIALECT_GITHUB;
  parser.enter_block = enter_block;
  parser.leave_block = leave_block;
  parser.enter_span = on_span;
  parser.leave_span = on_span;
  parser.text = on_text;
  if (md_parse(markdown.data(), static_cast<MD_SIZE>(markdown.size()), &parser, &b) != 0) {
    // md4c gave up part way (it only does on running out of memory): show the text as it is rather
    // than half of it.
    ProseBlock whole;
    whole.text = markdown;
    return {whole};
  }
  b.finish();
  return b.blocks;
}

}  // namespace podlab
