// Three-way interleaved CRC-32C. Notation: a CRC register r is a polynomial of degree < 32 over GF(2)
// in reflected bit order (bit 31 holds the coefficient of x^0, bit 0 that of x^31). The crc32
// instruction, fed 8 bytes D from register r, yields (r * x^64 + D * x^32) mod P, so running over a
// byte string S from r gives r * x^(8|S|) + crc0(S), where crc0(S) is the register S leaves when run
// from 0. Hence for S = A B C with |B| = |C| = L, started from r:
//   crc(r, A B C) = crc(r, A) * x^(16L) + crc0(B) * x^(8L) + crc0(C)   (mod P),
// and the three terms can be computed at the same time.
//
// With AVX-512 and VPCLMULQDQ (carry-less multiply) the bulk goes faster still, by folding: a 128-bit
// piece X of the message, split as X = H x^64 + L, moved D bits further on, is congruent mod P to
// H * (x^(64+D) mod P) + L * (x^D mod P), a product of at most 96 bits, so it can be xored into
// the piece found D bits later. Sixteen pieces (four 512-bit registers, 256 bytes) fold forward
// 256 bytes per round; at the end they fold into one piece, and a 16-byte message's register,
// run from 0, is its polynomial times x^32 mod P: two crc32 instructions finish it.
// Bit order: a 64-bit lane holds a polynomial reflected (bit i is the coefficient of x^(63-i)), and
// the carry-less product of two reflected 64-bit lanes, read as a reflected 128-bit piece, is the
// product times x; so the constants are x^(63+D) and x^(D-1) mod P, each in the upper half of a lane.
#include "cluster/wire_crc.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif
#if defined(__SSE4_2__) && defined(__AVX512F__) && defined(__VPCLMULQDQ__) && defined(__PCLMUL__)
#include <immintrin.h>
#define PODLAB_CRC_FOLD 1
#endif

#include "engine/log/crc32c.h"

namespace podlab {
namespace {

#if defined(__SSE4_2__)

constexpr uint32_t kPoly = 0x82F63B78u;  // P without its x^32 term, reflected
constexpr uint32_t kOne = 0x80000000u;   // the polynomial 1
// Below this many bytes one chain is as fast (the join costs a few hundred cycles).
constexpr size_t kMinInterleaved = 3 * 256;
constexpr size_t kMinFolded = 1024;  // below this, folding's set-up and final steps do not pay
constexpr size_t kBlock = 2048;  // bytes of each part copied at a time (3 blocks stay in L1)

// a * b mod P.
uint32_t mul_mod_p(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (int i = 0; i < 32; ++i) {
    p ^= b & (0u - ((a >> (31 - i)) & 1u));  // the x^i term of a times b
    b = (b >> 1) ^ (kPoly & (0u - (b & 1u)));  // b *= x
  }
  return p;
}

// x^(8 * 2^j) mod P for j = 0..63.
const std::array<uint32_t, 64>& byte_shift_powers() {
  static const std::array<uint32_t, 64> table = [] {
    std::array<uint32_t, 64> t{};
    t[0] = kOne >> 8;  // x^8
    for (size_t j = 1; j < t.size(); ++j) t[j] = mul_mod_p(t[j - 1], t[j - 1]);
    return t;
  }();
  return table;
}

// x^(8 * bytes) mod P: what running `bytes` more bytes does to an earlier register.
uint32_t shift_for_bytes(size_t bytes) {
  const auto& pow = byte_shift_powers();
  uint32_t r = kOne;
  for (size_t j = 0; bytes; ++j, bytes >>= 1)
    if (bytes & 1) r = mul_mod_p(r, pow[j]);
  return r;
}

// The join factors for part length `len`: x^(8 len) and x^(16 len). Messages of one size repeat, so
// each thread remembers the last length.
struct JoinFactors {
  size_t len = 0;
  uint32_t one = kOne, two = kOne;
};
const JoinFactors& join_factors(size_t len) {
  thread_local JoinFactors f;
  if (f.len != len) {
    f.one = shift_for_bytes(len);
    f.two = mul_mod_p(f.one, f.one);
    f.len = len;
  }
  return f;
}

inline uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Continues register r over n bytes, one chain.
uint32_t serial(uint32_t r, const unsigned char* p, size_t n) {
  uint64_t r64 = r;
  for (; n >= 8; n -= 8, p += 8) r64 = _mm_crc32_u64(r64, load64(p));
  r = static_cast<uint32_t>(r64);
  for (; n > 0; --n, ++p) r = _mm_crc32_u8(r, *p);
  return r;
}

#if defined(PODLAB_CRC_FOLD)

// x^m mod P.
uint32_t x_pow_mod_p(uint64_t m) { return mul_mod_p(shift_for_bytes(m / 8), kOne >> (m % 8)); }

// The multipliers that move a 128-bit piece `bytes` further on: low lane for H, high lane for L.
__m128i fold_constants(size_t bytes) {
  const uint64_t d = 8 * static_cast<uint64_t>(bytes);
  const uint64_t kh = static_cast<uint64_t>(x_pow_mod_p(d + 63)) << 32;
  const uint64_t kl = static_cast<uint64_t>(x_pow_mod_p(d - 1)) << 32;
  return _mm_set_epi64x(static_cast<long long>(kl), static_cast<long long>(kh));
}

struct FoldConstants {
  __m512i by256;           // every lane: 256 bytes
  __m512i by192, by128, by64;
  __m128i by48, by32, by16;
};
const FoldConstants& fold_constants() {
  static const FoldConstants k = [] {
    FoldConstants c;
    c.by256 = _mm512_broadcast_i32x4(fold_constants(256));
    c.by192 = _mm512_broadcast_i32x4(fold_constants(192));
    c.by128 = _mm512_broadcast_i32x4(fold_constants(128));
    c.by64 = _mm512_broadcast_i32x4(fold_constants(64));
    c.by48 = fold_constants(48);
    c.by32 = fold_constants(32);
    c.by16 = fold_constants(16);
    return c;
  }();
  return k;
}

// x moved on by the distance k was made for, xored with y.
inline __m512i fold512(__m512i x, __m512i k, __m512i y) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), y, 0x96);
}
inline __m128i fold128(__m128i x, __m128i k, __m128i y) {
  return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11), y, 0x96);
}

// The register after running the first n bytes of src (n a multiple of 256, at least 256) from
// register r; copies them to dst too when kCopy.
template <bool kCopy>
uint32_t folded(uint32_t r, unsigned char* dst, const unsigned char* src, size_t n) {
  const FoldConstants& k = fold_constants();
  auto load = [&](size_t at) {
    const __m512i v = _mm512_loadu_si512(src + at);
    if (kCopy) _mm512_storeu_si512(dst + at, v);
    return v;
  };
  __m512i x0 = _mm512_xor_si512(load(0), _mm512_castsi128_si512(_mm_cvtsi32_si128(static_cast<int>(r))));
  __m512i x1 = load(64), x2 = load(128), x3 = load(192);
  for (size_t at = 256; at < n; at += 256) {
    x0 = fold512(x0, k.by256, load(at));
    x1 = fold512(x1, k.by256, load(at + 64));
    x2 = fold512(x2, k.by256, load(at + 128));
    x3 = fold512(x3, k.by256, load(at + 192));
  }
  x3 = fold512(x0, k.by192, x3);
  x3 = fold512(x1, k.by128, x3);
  x3 = fold512(x2, k.by64, x3);
  __m128i y = _mm512_extracti32x4_epi32(x3, 3);
  y = fold128(_mm512_extracti32x4_epi32(x3, 0), k.by48, y);
  y = fold128(_mm512_extracti32x4_epi32(x3, 1), k.by32, y);
  y = fold128(_mm512_extracti32x4_epi32(x3, 2), k.by16, y);
  uint64_t out = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(y)));
  out = _mm_crc32_u64(out, static_cast<uint64_t>(_mm_extract_epi64(y, 1)));
  return static_cast<uint32_t>(out);
}

#endif  // PODLAB_CRC_FOLD

// The register after running all of src (n bytes) from ~0; copies src to dst too when dst is set.
template <bool kCopy>
uint32_t interleaved(unsigned char* dst, const unsigned char* src, size_t n) {
  uint32_t r = 0xFFFFFFFFu;
#if defined(PODLAB_CRC_FOLD)
  if (n >= kMinFolded) {
    const size_t bulk = n / 256 * 256;
    r = folded<kCopy>(r, dst, src, bulk);
    src += bulk;
    if (kCopy) dst += bulk;
    n -= bulk;
  }
#endif
  if (n >= kMinInterleaved) {
    const size_t len = n / 24 * 8;  // each of the three parts: a multiple of 8 bytes
    const unsigned char *a = src, *b = src + len, *c = src + 2 * len;
    uint64_t ra = r, rb = 0, rc = 0;
    // In blocks: copied with memcpy's wide moves, then checksummed while still in L1.
    for (size_t at = 0; at < len; at += kBlock) {
      const size_t m = std::min(kBlock, len - at);
      const unsigned char *pa = a + at, *pb = b + at, *pc = c + at;
      if (kCopy) {
        std::memcpy(dst + at, pa, m);
        std::memcpy(dst + len + at, pb, m);
        std::memcpy(dst + 2 * len + at, pc, m);
      }
      for (size_t i = 0; i < m; i += 8) {
        ra = _mm_crc32_u64(ra, load64(pa + i));
        rb = _mm_crc32_u64(rb, load64(pb + i));
        rc = _mm_crc32_u64(rc, load64(pc + i));
      }
    }
    const JoinFactors& f = join_factors(len);
    r = mul_mod_p(static_cast<uint32_t>(ra), f.two) ^ mul_mod_p(static_cast<uint32_t>(rb), f.one) ^ static_cast<uint32_t>(rc);
    src += 3 * len;
    if (kCopy) dst += 3 * len;
    n -= 3 * len;
  }
  if (kCopy && n) std::memcpy(dst, src, n);
  return serial(r, src, n);
}

#endif  // __SSE4_2__

}  // namespace

uint32_t wire_crc32c(const void* data, size_t n) {
#if defined(__SSE4_2__)
  return ~interleaved<false>(nullptr, static_cast<const unsigned char*>(data), n);
#else
  return crc32c(data, n);
#endif
}

uint32_t wire_crc32c_copy(void* dst, const void* src, size_t n) {
#if defined(__SSE4_2__)
  return ~interleaved<true>(static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), n);
#else
  if (n) std::memcpy(dst, src, n);
  return crc32c(src, n);
#endif
}

}  // namespace podlab
