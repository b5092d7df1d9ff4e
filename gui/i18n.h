// UI text in English and Simplified Chinese. Messages are an enum made from gui/i18n_table.h, so
// every message has both translations; Text is the small value panels call: t(Msg::kPlay).
#pragma once

namespace podlab::gui {

enum class Msg {
#define X(key, en, zh) key,
#include "gui/i18n_table.h"
#undef X
  kCount
};
inline constexpr int kMsgCount = static_cast<int>(Msg::kCount);

enum class Lang { kEn, kZh };

const char* tr(Lang lang, Msg m);
const char* msg_name(Msg m);  // "kPlay", for tests and error reports
// "en" -> kEn, "zh" -> kZh (anything else: kEn).
Lang parse_lang(const char* code);
const char* lang_code(Lang lang);

struct Text {
  Lang lang = Lang::kEn;
  const char* operator()(Msg m) const { return tr(lang, m); }
};

// Every string of `lang` joined, for building a font atlas with exactly the glyphs the UI uses.
const char* all_text(Lang lang);

}  // namespace podlab::gui
