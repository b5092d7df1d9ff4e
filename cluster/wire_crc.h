// CRC-32C (Castagnoli) of wire payloads, fast enough to check every megabyte gradient: the same
// values as engine/log/crc32c.h (reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF).
// With SSE4.2 (every x86-64-v2 or later build), a buffer is cut into three equal parts whose CRCs run
// as three independent chains of the crc32 instruction (its latency is 3 cycles, its throughput 1 per
// cycle, so one chain uses a third of it), and the three results are joined by multiplying in
// GF(2)[x] modulo the polynomial. Without SSE4.2 both functions fall back to the byte table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace podlab {

// CRC-32C of `n` bytes at `data` (may be null when n is 0).
uint32_t wire_crc32c(const void* data, size_t n);

// Copies `n` bytes from `src` to `dst` (not overlapping) and returns the CRC-32C of them, in one pass
// over the bytes: about the cost of the memcpy alone when they are not in cache.
uint32_t wire_crc32c_copy(void* dst, const void* src, size_t n);

}  // namespace podlab
