// Exact arithmetic on 128-bit integers: a value is significand * 10^exp10 * 1024^exp1024, and the
// significand is kept to 20 digits (after dropping zeros that do not change the value), so
// significand * 1024^6 still fits before it is scaled to nano units.
#include "cluster/k8s_quantity.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>

namespace podlab {
namespace {

constexpr int kMaxSignificantDigits = 20;
constexpr __int128 kMaxNanos = static_cast<__int128>(INT64_MAX) * 1000000000;

Status bad(const std::string& text, const std::string& why) {
  return Status::Usage("\"" + text + "\" is not a Kubernetes quantity: " + why +
                       " (use forms like 500m, 2, 1.5, 512Mi, 2Gi or 1e3)");
}

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

__int128 pow10(int n) {
  __int128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// The suffix after the number: sets a power of ten and a power of 1024. False when unknown.
bool read_suffix(const std::string& s, int* exp10, int* exp1024, std::string* why) {
  static const char* const kDecimal[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
  for (int i = 0; i < 10; ++i)
    if (s == kDecimal[i]) return *exp10 = 3 * (i - 3), true;
  static const char* const kBinary[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  for (int i = 0; i < 6; ++i)
    if (s == kBinary[i]) return *exp1024 = i + 1, true;
  if (s[0] == 'e' || s[0] == 'E') {
    size_t i = 1;
    const bool negative = i < s.size() && s[i] == '-';
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (i == s.size() || s.find_first_not_of("0123456789", i) != std::string::npos) {
      *why = "the exponent after '" + s.substr(0, 1) + "' must be a whole number, as in 1e3";
      return false;
    }
    int e = 0;
    for (; i < s.size(); ++i) e = std::min(e * 10 + (s[i] - '0'), 1000);  // beyond 1000 only "too large/small" matters
    *exp10 = negative ? -e : e;
    return true;
  }
  *why = "unknown suffix \"" + s + "\" (n u m k M G T P E, or Ki Mi Gi Ti Pi Ei; case matters)";
  return false;
}

}  // namespace

Result<K8sQuantity> parse_k8s_quantity(const std::string& text) {
  if (text.empty()) return bad(text, "it is empty");
  size_t i = 0;
  if (text[0] == '-') return bad(text, "it must not be negative");
  if (text[0] == '+') ++i;
  std::string int_digits, frac_digits;
  while (i < text.size() && is_digit(text[i])) int_digits += text[i++];
  const bool has_point = i < text.size() && text[i] == '.';
  if (has_point) ++i;
  while (has_point && i < text.size() && is_digit(text[i])) frac_digits += text[i++];
  if (int_digits.empty() && frac_digits.empty()) return bad(text, "it must start with a number");
  int exp10 = 0, exp1024 = 0;
  std::string why;
  if (!read_suffix(text.substr(i), &exp10, &exp1024, &why)) return bad(text, why);

  // significand * 10^exp10, with the digits' own leading and trailing zeros taken out.
  std::string digits = int_digits + frac_digits;
  exp10 -= static_cast<int>(frac_digits.size());
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  while (!digits.empty() && digits.back() == '0') digits.pop_back(), ++exp10;
  if (digits.empty()) return K8sQuantity{};
  if (static_cast<int>(digits.size()) > kMaxSignificantDigits)
    return bad(text, "more than " + std::to_string(kMaxSignificantDigits) + " significant digits");
  __int128 v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  // In nano units; decide "too large" on the magnitude first, so the exact products below fit.
  exp10 += 9;
  const long double magnitude = static_cast<long double>(digits.size()) + exp10 + exp1024 * std::log10(1024.0L);
  if (magnitude > 29) return bad(text, "it is too large");
  for (int k = 0; k < exp1024; ++k) v *= 1024;
  if (exp10 >= 0) {
    v *= pow10(exp10);
  } else if (exp10 < -38) {
    v = 1;  // below 1n: Kubernetes rounds up
  } else {
    const __int128 d = pow10(-exp10);
    v = v / d + (v % d != 0 ? 1 : 0);
  }
  if (v > kMaxNanos) return bad(text, "it is too large");
  return K8sQuantity{v};
}

}  // namespace podlab
