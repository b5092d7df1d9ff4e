// MD5 per RFC 1321 (https://www.rfc-editor.org/rfc/rfc1321), section 3: pad to 448 bits mod 512,
// append the 64-bit little-endian bit length, then run each 64-byte block through four rounds of 16
// steps. Words are little-endian throughout, so the code reads bytes explicitly instead of casting.
#include "engine/fetch/md5.h"

#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace podlab {
namespace {

// T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4. Computed rather than typed in: double
// precision sin is exact enough for all 64 entries, and the RFC test vectors check the result.
const std::array<uint32_t, 64>& sine_table() {
  static const std::array<uint32_t, 64> table = [] {
    std::array<uint32_t, 64> t{};
    for (int i = 0; i < 64; ++i) t[i] = static_cast<uint32_t>(std::floor(std::fabs(std::sin(i + 1.0)) * 4294967296.0));
    return t;
  }();
  return table;
}

// Left-rotation amounts for each step, four per round (RFC 1321 section 3.4).
constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

uint32_t load_le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

Md5::Md5() : state_{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u} {}

void Md5::transform(const uint8_t block[64]) {
  const auto& T = sine_table();
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = load_le32(block + 4 * i);
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (int i = 0; i < 64; ++i) {
    const int round = i / 16;
    uint32_t f;
    int g;  // which message word this step mixes in
    switch (round) {
      case 0: f = (b & c) | (~b & d); g = i; break;                  // F
      case 1: f = (b & d) | (c & ~d); g = (5 * i + 1) % 16; break;   // G
      case 2: f = b ^ c ^ d;          g = (3 * i + 5) % 16; break;   // H
      default: f = c ^ (b | ~d);      g = (7 * i) % 16; break;       // I
    }
    const uint32_t rotated = rotl(a + f + T[i] + m[g], kShift[round][i % 4]);
    a = d;
    d = c;
    c = b;
    b = b + rotated;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void Md5::update(const void* data, size_t n) {
  assert(!finished_ && "Md5::update after hex_digest");
  const uint8_t* p = static_cast<const uint8_t*>(data);
  size_t fill = total_ % 64;
  total_ += n;
  if (fill > 0) {  // top up the partial block first
    const size_t take = std::min(n, 64 - fill);
    std::memcpy(buffer_.data() + fill, p, take);
    p += take;
    n -= take;
    if (fill + take < 64) return;
    transform(buffer_.data());
  }
  for (; n >= 64; p += 64, n -= 64) transform(p);
  if (n > 0) std::memcpy(buffer_.data(), p, n);
}

std::string Md5::hex_digest() {
  assert(!finished_ && "Md5::hex_digest called twice");
  const uint64_t bits = total_ * 8;
  // Padding: one 0x80 byte, zeros up to 56 mod 64, then the length (section 3.1 and 3.2).
  static const uint8_t kPad[64] = {0x80};
  const size_t fill = total_ % 64;
  update(kPad, fill < 56 ? 56 - fill : 120 - fill);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(bits >> (8 * i));
  update(len, 8);
  finished_ = true;
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", (state_[i / 4] >> (8 * (i % 4))) & 0xffu);
  return std::string(hex, 32);
}

std::string md5_hex(const void* data, size_t n) {
  Md5 h;
  h.update(data, n);
  return h.hex_digest();
}

Result<std::string> md5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(path + ": cannot open for reading");
  Md5 h;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    h.update(buf, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::Io(path + ": read error");
  return h.hex_digest();
}

}  // namespace podlab
