// Little-endian byte encoding for podlab's binary files (checkpoints). ByteWriter appends fixed-width
// integers, IEEE-754 floats and u32-length-prefixed strings to a std::string; ByteReader reads them
// back from a byte range and never reads past its end: every read checks the bytes remaining first,
// and every count is checked against the bytes remaining *before* anything is allocated, so a
// truncated or hostile file yields an error message instead of a crash or a huge allocation.
// Values are encoded byte by byte, so files are the same on little- and big-endian hosts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace podlab {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void i32(int32_t v) { put(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v), 8); }
  void f32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put(bits, 4);
  }
  // u32 byte length, then the bytes (no terminator). Precondition: s.size() < 2^32.
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  // The floats only (the caller writes the count it wants in front).
  void f32_array(const std::vector<float>& v) {
    out_.reserve(out_.size() + 4 * v.size());
    for (float x : v) f32(x);
  }
  void raw(const void* data, size_t n) { out_.append(static_cast<const char*>(data), n); }

  const std::string& bytes() const { return out_; }
  std::string& bytes() { return out_; }
  size_t size() const { return out_.size(); }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

// Reads from [data, data + size), which must outlive the reader. Each read names its field; the first
// failure stores a message (field, offset, sizes) in error() and every later read fails too, so a
// parser may check once at the end of a group of reads.
class ByteReader {
 public:
  ByteReader(const void* data, size_t size) : p_(static_cast<const unsigned char*>(data)), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Records a failure found by the caller (first one wins).
  bool fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }

  // Steps over `n` bytes (e.g. a header already checked).
  bool skip(const char* field, size_t n) {
    if (!ok()) return false;
    if (remaining() < n) return fail(std::string("truncated: ") + field + " runs past the end of the data");
    pos_ += n;
    return true;
  }
  bool u8(const char* field, uint8_t* v) {
    uint64_t x = 0;
    if (!get(field, 1, &x)) return false;
    *v = static_cast<uint8_t>(x);
    return true;
  }
  bool u32(const char* field, uint32_t* v) {
    uint64_t x = 0;
    if (!get(field, 4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool u64(const char* field, uint64_t* v) { return get(field, 8, v); }
  bool i32(const char* field, int32_t* v) {
    uint32_t x = 0;
    if (!u32(field, &x)) return false;
    *v = static_cast<int32_t>(x);
    return true;
  }
  bool i64(const char* field, int64_t* v) {
    uint64_t x = 0;
    if (!get(field, 8, &x)) return false;
    *v = static_cast<int64_t>(x);
    return true;
  }
  bool f32(const char* field, float* v) {
    uint32_t bits = 0;
    if (!u32(field, &bits)) return false;
    std::memcpy(v, &bits, 4);
    return true;
  }
  // A u32-length-prefixed string of at most `max_len` bytes.
  bool str(const char* field, size_t max_len, std::string* s) {
    uint32_t n = 0;
    if (!u32(field, &n) || !check_count(field, n, 1, max_len)) return false;
    s->assign(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return true;
  }
  // `count` floats (count read by the caller); checked against the bytes remaining before allocating.
  bool f32_array(const char* field, uint64_t count, std::vector<float>* v) {
    if (!check_count(field, count, 4, SIZE_MAX / 4)) return false;
    v->resize(static_cast<size_t>(count));
    for (size_t i = 0; i < v->size(); ++i) {
      uint32_t bits = 0;
      for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(p_[pos_ + b]) << (8 * b);
      std::memcpy(&(*v)[i], &bits, 4);
      pos_ += 4;
    }
    return true;
  }
  // Fails unless `count` entries of at least `min_bytes_each` bytes fit in the bytes remaining and
  // count <= max_count. Call before reserving or resizing anything by a count read from the file.
  bool check_count(const char* field, uint64_t count, size_t min_bytes_each, uint64_t max_count) {
    if (!ok()) return false;
    if (count > max_count)
      return fail(std::string("implausible ") + field + " " + std::to_string(count) + " at offset " +
                  std::to_string(pos_) + " (at most " + std::to_string(max_count) + " allowed)");
    if (min_bytes_each > 0 && count > remaining() / min_bytes_each)
      return fail(std::string("implausible ") + field + " " + std::to_string(count) + " at offset " +
                  std::to_string(pos_) + ": needs at least " + std::to_string(min_bytes_each) +
                  " bytes each but only " + std::to_string(remaining()) + " bytes remain");
    return true;
  }

 private:
  bool get(const char* field, int n, uint64_t* v) {
    if (!ok()) return false;
    if (remaining() < static_cast<size_t>(n))
      return fail(std::string("truncated: ") + field + " (" + std::to_string(n) + " bytes at offset " +
                  std::to_string(pos_) + ") runs past the end of the data (" + std::to_string(size_) + " bytes)");
    uint64_t x = 0;
    for (int i = 0; i < n; ++i) x |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(n);
    *v = x;
    return true;
  }
  const unsigned char* p_;
  size_t size_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace podlab
