// Protocol Buffers wire encoding. Multi-byte fixed values are written byte by byte in little-endian
// order so the output does not depend on the host's byte order.
#include "engine/log/protobuf_writer.h"

#include <cassert>
#include <cstring>
#include <utility>

namespace podlab {

void ProtobufWriter::append_varint(uint64_t value) {
  // Seven bits per byte, least significant group first; the high bit says "more follows".
  while (value >= 0x80u) {
    out_.push_back(static_cast<char>((value & 0x7Fu) | 0x80u));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void ProtobufWriter::append_tag(int field, WireType type) {
  assert(field >= 1 && field < (1 << 29) && "protobuf field numbers are 1 .. 2^29-1");
  append_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(type));
}

void ProtobufWriter::append_fixed32(uint32_t value) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

void ProtobufWriter::append_fixed64(uint64_t value) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

void ProtobufWriter::add_varint(int field, uint64_t value) {
  append_tag(field, WireType::kVarint);
  append_varint(value);
}

void ProtobufWriter::add_fixed32(int field, uint32_t value) {
  append_tag(field, WireType::kFixed32);
  append_fixed32(value);
}

void ProtobufWriter::add_fixed64(int field, uint64_t value) {
  append_tag(field, WireType::kFixed64);
  append_fixed64(value);
}

void ProtobufWriter::add_float(int field, float value) {
  static_assert(sizeof(float) == 4, "protobuf float is binary32");
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  add_fixed32(field, bits);
}

void ProtobufWriter::add_double(int field, double value) {
  static_assert(sizeof(double) == 8, "protobuf double is binary64");
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  add_fixed64(field, bits);
}

void ProtobufWriter::add_bytes(int field, std::string_view bytes) {
  append_tag(field, WireType::kLengthDelimited);
  append_varint(bytes.size());
  out_.append(bytes.data(), bytes.size());
}

std::string ProtobufWriter::release() {
  std::string out = std::move(out_);
  out_.clear();
  return out;
}

}  // namespace podlab
