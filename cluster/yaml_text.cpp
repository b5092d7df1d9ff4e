// JSON -> YAML text (see yaml_text.h). Walks an nlohmann::ordered_json tree so keys keep their order.
#include "cluster/yaml_text.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace podlab {
namespace {

using json = nlohmann::ordered_json;

// True when `s` reads back as this same string in every YAML flavour without quotes. Conservative:
// must start with a letter, '/' or "--" (command-line flags), contain only [A-Za-z0-9._/=@+-] and ':'
// not followed by a space, and not be one of YAML 1.1's bool/null words. Anything starting with a
// digit is quoted (numbers, 1.1's sexagesimal 1:20, hex 0x1F).
bool plain_safe(const std::string& s) {
  if (s.empty()) return false;
  const bool flag = s.size() > 2 && s[0] == '-' && s[1] == '-' && std::isalpha(static_cast<unsigned char>(s[2]));
  if (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '/' && !flag) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' || c == '=' ||
                    c == '@' || c == '+' || c == '-' || (c == ':' && i + 1 < s.size() && s[i + 1] != ' ');
    if (!ok) return false;
  }
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* const kReserved[] = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"};
  for (const char* r : kReserved)
    if (lower == r) return false;
  return true;
}

std::string scalar(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return plain_safe(s) ? s : v.dump();  // JSON's escapes are valid in YAML double-quoted scalars
  }
  return v.dump();  // null, bool, number
}

bool is_block(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void emit(const json& v, int indent, std::string* out);

// Writes `v` after "key:" or "-": inline for scalars and empty containers, else on the next lines.
void emit_after_marker(const json& v, int indent, std::string* out) {
  if (!is_block(v)) {
    *out += " " + scalar(v) + "\n";
    return;
  }
  *out += "\n";
  emit(v, indent, out);
}

void emit(const json& v, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      *out += pad + scalar(json(it.key())) + ":";
      // Sequences under a key are written at the key's indentation (the common Kubernetes style).
      emit_after_marker(it.value(), it.value().is_array() ? indent : indent + 2, out);
    }
  } else if (v.is_array()) {
    for (const json& item : v) {
      if (item.is_object() && !item.empty()) {
        // "- first: x" then the other keys aligned under "first".
        std::string inner;
        emit(item, indent + 2, &inner);
        *out += pad + "- " + inner.substr(static_cast<size_t>(indent) + 2);
      } else {
        *out += pad + "-";
        emit_after_marker(item, indent + 2, out);
      }
    }
  } else {
    *out += pad + scalar(v) + "\n";
  }
}

}  // namespace

Result<std::string> json_to_yaml(const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return Status::Internal(std::string("json_to_yaml: not JSON: ") + e.what());
  }
  std::string out;
  if (is_block(doc)) emit(doc, 0, &out);
  else out = scalar(doc) + "\n";
  return out;
}

}  // namespace podlab
