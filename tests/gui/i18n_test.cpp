// Every UI message exists in English and Simplified Chinese with the same printf placeholders.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gui/i18n.h"

using namespace podlab::gui;

namespace {
// The conversion specifiers in order ("%lld", "%.0f", ...), skipping "%%".
std::vector<char> placeholders(const std::string& s) {
  std::vector<char> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 1 < s.size() && s[i + 1] == '%') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < s.size() && std::string("0123456789.-+ #l").find(s[j]) != std::string::npos) ++j;
    if (j < s.size()) out.push_back(s[j]);
    i = j;
  }
  return out;
}
bool has_non_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}
}  // namespace

TEST_CASE("every message has both languages with matching placeholders", "[gui][i18n]") {
  for (int i = 0; i < kMsgCount; ++i) {
    const Msg m = static_cast<Msg>(i);
    const std::string en = tr(Lang::kEn, m), zh = tr(Lang::kZh, m);
    INFO(msg_name(m) << ": en '" << en << "' zh '" << zh << "'");
    CHECK_FALSE(en.empty());
    CHECK_FALSE(zh.empty());
    CHECK(zh != en);
    CHECK(has_non_ascii(zh));  // a Chinese translation, not a copy
    CHECK(placeholders(en) == placeholders(zh));
  }
}

TEST_CASE("language codes", "[gui][i18n]") {
  CHECK(parse_lang("zh") == Lang::kZh);
  CHECK(parse_lang("en") == Lang::kEn);
  CHECK(parse_lang("xx") == Lang::kEn);
  CHECK(std::string(lang_code(Lang::kZh)) == "zh");
  Text t{Lang::kZh};
  CHECK(std::string(t(Msg::kPlay)) == tr(Lang::kZh, Msg::kPlay));
  CHECK(std::string(all_text(Lang::kZh)).find(tr(Lang::kZh, Msg::kReset)) != std::string::npos);
}
