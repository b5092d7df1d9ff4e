// A one-line JSON object builder for machine-readable output (one object per line).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace podlab {

class JsonLine {
 public:
  JsonLine& add(const std::string& key, const std::string& v) { return raw(key, quote(v)); }
  JsonLine& add(const std::string& key, const char* v) { return raw(key, quote(v)); }
  JsonLine& add(const std::string& key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonLine& add(const std::string& key, int v) { return raw(key, std::to_string(v)); }
  JsonLine& add(const std::string& key, int64_t v) { return raw(key, std::to_string(v)); }
  JsonLine& add(const std::string& key, double v) { return raw(key, number(v)); }
  JsonLine& add(const std::string& key, const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return raw(key, s + "]");
  }
  // `json` must already be valid JSON.
  JsonLine& raw(const std::string& key, const std::string& json) {
    body_ += (body_.empty() ? "" : ",") + quote(key) + ":" + json;
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }
  void print(FILE* out = stdout) const {
    std::fprintf(out, "%s\n", str().c_str());
    std::fflush(out);
  }

  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
  }
  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }

 private:
  std::string body_;
};

}  // namespace podlab
