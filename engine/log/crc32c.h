// CRC-32C (Castagnoli), the checksum TFRecord files (and so TensorBoard event files) put around every
// record. Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; the check value
// crc32c("123456789") is 0xE3069283. Table-driven, one byte per step: event files are small, so
// speed does not matter here, only being obviously right.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace podlab {

// CRC-32C of `n` bytes at `data`. `data` may be null when `n` is 0.
uint32_t crc32c(const void* data, size_t n);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b). crc32c_extend(0, x) == crc32c(x).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

// TFRecord stores CRCs "masked" (rotated right by 15 bits, plus a constant, modulo 2^32) because a
// CRC of bytes that themselves contain CRCs is weak. unmask_crc32c(mask_crc32c(c)) == c.
uint32_t mask_crc32c(uint32_t crc);
uint32_t unmask_crc32c(uint32_t masked);

// mask_crc32c(crc32c(bytes)): what a TFRecord writes after the length and after the payload.
inline uint32_t masked_crc32c(std::string_view bytes) { return mask_crc32c(crc32c(bytes)); }

}  // namespace podlab
