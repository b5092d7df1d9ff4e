// The fast CRC-32C of wire payloads against the engine's byte-table CRC-32C: every code path (one
// chain, three chains, carry-less folding, and the tails between them), at every alignment.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "cluster/wire_crc.h"
#include "engine/log/crc32c.h"

using namespace podlab;

TEST_CASE("wire_crc32c and wire_crc32c_copy equal the table CRC-32C at every length and alignment", "[cluster][crc]") {
  std::vector<uint8_t> src(70000 + 64), dst(src.size());
  uint32_t x = 12345;
  for (uint8_t& b : src) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 24);
  }
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1100; ++n) lengths.push_back(n);  // around every threshold and block size
  for (size_t n : {2047, 2048, 2049, 4095, 4096, 4097, 6143, 6145, 40000, 65536, 65537, 69999, 70000}) lengths.push_back(n);
  int wrong = 0, wrong_copy = 0;
  for (size_t n : lengths)
    for (size_t off : {0, 1, 3, 8, 13}) {
      const uint8_t* s = src.data() + off;
      const uint32_t want = crc32c(s, n);
      if (wire_crc32c(s, n) != want) ++wrong;
      std::fill(dst.begin(), dst.end(), 0xAB);
      uint8_t* d = dst.data() + (off * 7) % 16;
      if (wire_crc32c_copy(d, s, n) != want || (n && std::memcmp(d, s, n) != 0)) ++wrong_copy;
      if (d + n < dst.data() + dst.size() && d[n] != 0xAB) ++wrong_copy;  // wrote past the end
    }
  CHECK(wrong == 0);
  CHECK(wrong_copy == 0);
  CHECK(wire_crc32c("123456789", 9) == 0xE3069283u);
  CHECK(wire_crc32c_copy(nullptr, nullptr, 0) == 0u);
}

TEST_CASE("wire_crc32c of a gradient-sized buffer sees a single flipped bit anywhere", "[cluster][crc]") {
  std::vector<uint8_t> b(796840);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  const uint32_t good = wire_crc32c(b.data(), b.size());
  CHECK(good == crc32c(b.data(), b.size()));
  for (size_t at : {size_t{0}, size_t{255}, size_t{256}, size_t{1000}, b.size() / 3, b.size() - 200, b.size() - 1}) {
    b[at] ^= 0x10;
    CHECK(wire_crc32c(b.data(), b.size()) != good);
    b[at] ^= 0x10;
  }
}
