// MD5 (RFC 1321), used only to compare downloaded dataset files with the checksums their publishers
// list. MD5 is broken as a defence against a deliberate forger; here it guards against truncated,
// corrupted or wrong files, which is all the published checksums allow. Hand-written so that podlab
// needs no crypto library beyond what libcurl brings (and libcurl exposes no hash API).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/status.h"

namespace podlab {

// Incremental MD5. Feed bytes with update() in any chunking, then call hex_digest() once.
// Not thread-safe; cheap to copy. Calling update() after hex_digest() is a bug (asserted).
class Md5 {
 public:
  Md5();
  void update(const void* data, size_t n);
  // Finishes the hash and returns the 32-character lower-case hex digest.
  std::string hex_digest();

 private:
  void transform(const uint8_t block[64]);
  std::array<uint32_t, 4> state_;
  std::array<uint8_t, 64> buffer_{};  // a partial block of `total_ % 64` bytes
  uint64_t total_ = 0;                // bytes fed so far
  bool finished_ = false;
};

// One-shot helpers.
std::string md5_hex(const void* data, size_t n);
inline std::string md5_hex(const std::string& s) { return md5_hex(s.data(), s.size()); }
// The MD5 of a whole file; a kIo Status naming the path when it cannot be read.
Result<std::string> md5_file(const std::string& path);

}  // namespace podlab
