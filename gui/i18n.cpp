// The message table.
#include "gui/i18n.h"

#include <cstring>
#include <string>

namespace podlab::gui {
namespace {

struct Entry {
  const char* name;
  const char* text[2];
};

const Entry kTable[] = {
#define X(key, en, zh) {#key, {en, zh}},
#include "gui/i18n_table.h"
#undef X
};
static_assert(sizeof(kTable) / sizeof(kTable[0]) == kMsgCount, "one entry per message");

}  // namespace

const char* tr(Lang lang, Msg m) { return kTable[static_cast<int>(m)].text[lang == Lang::kZh ? 1 : 0]; }
const char* msg_name(Msg m) { return kTable[static_cast<int>(m)].name; }
Lang parse_lang(const char* code) { return code && std::strcmp(code, "zh") == 0 ? Lang::kZh : Lang::kEn; }
const char* lang_code(Lang lang) { return lang == Lang::kZh ? "zh" : "en"; }

const char* all_text(Lang lang) {
  // Built once; the table is constant, so this is safe to call from any thread after the first call.
  static const std::string joined[2] = {[] {
                                          std::string j;
                                          for (const Entry& e : kTable) j += e.text[0];
                                          return j;
                                        }(),
                                        [] {
                                          std::string j;
                                          for (const Entry& e : kTable) j += e.text[1];
                                          return j;
                                        }()};
  return joined[lang == Lang::kZh ? 1 : 0].c_str();
}

}  // namespace podlab::gui
