// A tiny Protocol Buffers encoder: just enough of the wire format
// (https://protobuf.dev/programming-guides/encoding/) to write TensorBoard's Event, Summary, SessionLog
// and GraphDef messages without libprotobuf. It appends fields, in the order called, to a std::string.
// There is no schema and no decoder: callers know their field numbers and types. Default values are
// not skipped here; leaving out proto3 defaults is the caller's choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace podlab {

// The wire types podlab writes (3 and 4, groups, are deprecated and never needed).
enum class WireType : uint8_t {
  kVarint = 0,           // int32, int64, uint64, bool, enum
  kFixed64 = 1,          // double, fixed64
  kLengthDelimited = 2,  // string, bytes, submessages, packed repeated fields
  kFixed32 = 5,          // float, fixed32
};

// Not thread-safe; cheap to create, one per message being built. Field numbers must be in
// [1, 2^29 - 1] (asserted).
class ProtobufWriter {
 public:
  // Whole fields: a tag followed by the value.
  void add_varint(int field, uint64_t value);
  // int64/int32 fields: negative values take ten bytes (two's complement, not zigzag, as protobuf does).
  void add_int64(int field, int64_t value) { add_varint(field, static_cast<uint64_t>(value)); }
  void add_fixed32(int field, uint32_t value);
  void add_fixed64(int field, uint64_t value);
  void add_float(int field, float value);    // IEEE-754 binary32, little-endian
  void add_double(int field, double value);  // IEEE-754 binary64, little-endian
  // string, bytes, or an already serialized submessage: a tag, a varint length, then the bytes.
  void add_bytes(int field, std::string_view bytes);
  void add_message(int field, const ProtobufWriter& message) { add_bytes(field, message.bytes()); }

  // Raw pieces, for anything the field helpers do not cover (e.g. packed repeated fields).
  void append_varint(uint64_t value);
  void append_tag(int field, WireType type);
  void append_fixed32(uint32_t value);
  void append_fixed64(uint64_t value);

  // The bytes written so far.
  const std::string& bytes() const { return out_; }
  // Hands the bytes over and leaves the writer empty.
  std::string release();

 private:
  std::string out_;
};

}  // namespace podlab
