// Encoding and validation of the wire format. Integers are written byte by byte in little-endian
// order, so the header is the same on any host; float payloads are copied as IEEE-754 binary32 and
// need a little-endian host (checked at compile time: every platform podlab targets is).
#include "cluster/protocol.h"

#include <cstring>

#include "cluster/wire_crc.h"

namespace podlab {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the float payload assumes a little-endian host");

// Byte offsets of the header fields (PROTOCOL.md).
enum : size_t {
  kOffMagic = 0, kOffVersion = 4, kOffType = 6, kOffRole = 7, kOffIndex = 8, kOffReserved = 10,
  kOffShard = 12, kOffStep = 16, kOffSeq = 24, kOffAux = 28, kOffOffset = 32, kOffCount = 36,
  kOffPayloadCrc = 40, kOffHeaderCrc = 44,
};

void put16(uint8_t* p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
void put32(uint8_t* p, uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = (v >> (8 * i)) & 0xff; }
void put64(uint8_t* p, uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = (v >> (8 * i)) & 0xff; }
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool known_type(uint8_t t) { return t >= 1 && t <= 10; }

}  // namespace

const char* message_type_name(MessageType t) {
  switch (t) {
    case MessageType::kInit: return "INIT";
    case MessageType::kPull: return "PULL";
    case MessageType::kPush: return "PUSH";
    case MessageType::kParams: return "PARAMS";
    case MessageType::kStop: return "STOP";
    case MessageType::kHeartbeat: return "HEARTBEAT";
    case MessageType::kSnapshot: return "SNAPSHOT";
    case MessageType::kJob: return "JOB";
    case MessageType::kResult: return "RESULT";
    case MessageType::kRefuse: return "REFUSE";
  }
  return "?";
}

std::string MessageHeader::debug_string() const {
  const TaskId sender{sender_role, sender_index};
  return std::string(message_type_name(type)) + " " + sender.name() + " shard " + std::to_string(shard) + " step " +
         std::to_string(step) + " seq " + std::to_string(seq) + (aux ? " aux " + std::to_string(aux) : "") + " [" +
         std::to_string(offset) + ",+" + std::to_string(count) + ")";
}

Bytes encode_message(const MessageHeader& h, const float* floats) {
  Bytes b;
  encode_message_into(h, floats, &b);
  return b;
}

void encode_message_into(const MessageHeader& h, const float* floats, Bytes* out) {
  const size_t payload = static_cast<size_t>(h.count) * sizeof(float);
  out->resize(kHeaderBytes + payload);
  uint8_t* p = out->data();
  put32(p + kOffMagic, kProtocolMagic);
  put16(p + kOffVersion, kProtocolVersion);
  p[kOffType] = static_cast<uint8_t>(h.type);
  p[kOffRole] = static_cast<uint8_t>(h.sender_role);
  put16(p + kOffIndex, h.sender_index);
  put16(p + kOffReserved, 0);
  put32(p + kOffShard, h.shard);
  put64(p + kOffStep, static_cast<uint64_t>(h.step));
  put32(p + kOffSeq, h.seq);
  put32(p + kOffAux, h.aux);
  put32(p + kOffOffset, h.offset);
  put32(p + kOffCount, h.count);
  put32(p + kOffPayloadCrc, wire_crc32c_copy(p + kHeaderBytes, floats, payload));
  put32(p + kOffHeaderCrc, wire_crc32c(p, kOffHeaderCrc));
}

namespace {

// What decode_bytes() does with the payload once the header checks out.
enum class Payload { kCheck, kSkip, kCopy };

Result<MessageHeader> decode_bytes(const uint8_t* p, size_t size, Payload payload, Bytes* copy) {
  auto bad = [](const std::string& m) { return Status::Network("bad message: " + m); };
  if (size < kHeaderBytes)
    return bad("truncated header (" + std::to_string(size) + " of " + std::to_string(kHeaderBytes) + " bytes)");
  if (get32(p + kOffMagic) != kProtocolMagic) return bad("wrong magic (not a podlab message)");
  const uint16_t version = get16(p + kOffVersion);
  if (version != kProtocolVersion)
    return bad("protocol version " + std::to_string(version) + ", this build speaks " +
               std::to_string(kProtocolVersion) + " (run the same podlab on every task)");
  if (get32(p + kOffHeaderCrc) != wire_crc32c(p, kOffHeaderCrc)) return bad("header checksum mismatch");
  if (!known_type(p[kOffType])) return bad("unknown message type " + std::to_string(p[kOffType]));
  if (p[kOffRole] > 2) return bad("unknown sender role " + std::to_string(p[kOffRole]));
  if (get16(p + kOffReserved) != 0) return bad("reserved header bytes are not zero");
  MessageHeader h;
  h.type = static_cast<MessageType>(p[kOffType]);
  h.sender_role = static_cast<Role>(p[kOffRole]);
  h.sender_index = get16(p + kOffIndex);
  h.shard = get32(p + kOffShard);
  h.step = static_cast<int64_t>(get64(p + kOffStep));
  h.seq = get32(p + kOffSeq);
  h.aux = get32(p + kOffAux);
  h.offset = get32(p + kOffOffset);
  h.count = get32(p + kOffCount);
  if (h.count > kMaxPayloadFloats) return bad("count " + std::to_string(h.count) + " exceeds the limit");
  if (h.step < 0) return bad("negative step");
  const size_t want = kHeaderBytes + static_cast<size_t>(h.count) * sizeof(float);
  if (size < want) return bad("truncated payload (" + std::to_string(size) + " of " + std::to_string(want) + " bytes)");
  if (size > want) return bad("oversized (" + std::to_string(size) + " bytes, header says " + std::to_string(want) + ")");
  const uint32_t stored = get32(p + kOffPayloadCrc);
  if (payload == Payload::kCheck && stored != wire_crc32c(p + kHeaderBytes, want - kHeaderBytes))
    return bad("payload checksum mismatch");
  if (payload == Payload::kCopy) {
    copy->resize(want);
    std::memcpy(copy->data(), p, kHeaderBytes);
    if (stored != wire_crc32c_copy(copy->data() + kHeaderBytes, p + kHeaderBytes, want - kHeaderBytes))
      return bad("payload checksum mismatch");
  }
  if (payload == Payload::kSkip && h.count == 0 && stored != 0) return bad("payload checksum mismatch");
  return h;
}

}  // namespace

Result<MessageHeader> decode_message(const uint8_t* p, size_t size) { return decode_bytes(p, size, Payload::kCheck, nullptr); }

Result<MessageHeader> decode_header(const uint8_t* p, size_t size) { return decode_bytes(p, size, Payload::kSkip, nullptr); }

Result<MessageHeader> decode_message_copy(const uint8_t* p, size_t size, Bytes* out) {
  return decode_bytes(p, size, Payload::kCopy, out);
}

Bytes encode_text_message(MessageHeader h, const std::string& text) {
  h.aux = static_cast<uint32_t>(text.size());
  h.offset = 0;
  h.count = static_cast<uint32_t>((text.size() + 3) / 4);
  std::vector<float> words(h.count, 0.0f);
  if (!text.empty()) std::memcpy(words.data(), text.data(), text.size());
  return encode_message(h, words.data());
}

std::string read_text(const uint8_t* bytes, const MessageHeader& h) {
  return std::string(reinterpret_cast<const char*>(bytes + kHeaderBytes), h.count ? h.aux : 0);
}

void read_payload(const uint8_t* bytes, const MessageHeader& h, float* out) {
  std::memcpy(out, bytes + kHeaderBytes, static_cast<size_t>(h.count) * sizeof(float));
}

bool copy_payload_checked(const uint8_t* bytes, const MessageHeader& h, float* out) {
  const size_t n = static_cast<size_t>(h.count) * sizeof(float);
  return get32(bytes + kOffPayloadCrc) == (n ? wire_crc32c_copy(out, bytes + kHeaderBytes, n) : 0u);
}

Status check_message_range(const MessageHeader& h, int num_shards, size_t shard_floats) {
  const std::string what = h.debug_string() + ": ";
  if (h.shard >= static_cast<uint32_t>(num_shards))
    return Status::Network(what + "shard out of range (" + std::to_string(num_shards) + " shards)");
  const bool progress = h.type == MessageType::kHeartbeat && h.sender_role == Role::kPs && h.count > 0;  // to a client
  const bool refusal = h.type == MessageType::kRefuse && h.sender_role == Role::kPs;
  if (h.type == MessageType::kJob || h.type == MessageType::kResult || progress || refusal) {
    if (h.offset != 0) return Status::Network(what + "text starts at offset 0");
    if (h.count == 0 ? h.aux > 1 : (h.aux > kMaxTextBytes || h.count != (h.aux + 3) / 4))
      return Status::Network(what + "text length (aux) and words (count) disagree, or the text is over 1 MiB");
    return Status::Ok();
  }
  if (h.type == MessageType::kRefuse) return Status::Network(what + "only a ps sends REFUSE");
  if (h.sender_role == Role::kClient && h.type != MessageType::kStop)
    return Status::Network(what + "a client sends only JOB, RESULT and STOP");
  const bool state = h.type == MessageType::kSnapshot && h.sender_role == Role::kPs;
  if (static_cast<size_t>(h.offset) + h.count > (state ? (size_t{h.aux} + 1) * shard_floats : shard_floats))
    return Status::Network(what + "floats [" + std::to_string(h.offset) + ", " + std::to_string(h.offset + size_t{h.count}) +
                           ") are outside the shard of " + std::to_string(shard_floats));
  const bool whole = h.type == MessageType::kInit || h.type == MessageType::kPush || h.type == MessageType::kParams;
  if (whole && (h.offset != 0 || h.count != shard_floats))
    return Status::Network(what + "must carry the whole shard (" + std::to_string(shard_floats) + " floats from 0)");
  if (state && (h.aux > kMaxSnapshotSlotBlocks || h.offset != 0 || h.count != (size_t{h.aux} + 1) * shard_floats))
    return Status::Network(what + "must carry the shard and its " + std::to_string(h.aux) + " slot blocks (" +
                           std::to_string((size_t{h.aux} + 1) * shard_floats) + " floats from 0)");
  if (!whole && !state && (h.count != 0 || h.offset != 0)) return Status::Network(what + "must carry no floats");
  if ((h.type == MessageType::kPush || h.type == MessageType::kPull || h.type == MessageType::kInit) &&
      h.sender_role != Role::kWorker)
    return Status::Network(what + "only workers send this");
  if ((h.type == MessageType::kInit || h.type == MessageType::kSnapshot || h.type == MessageType::kStop) &&
      h.sender_role == Role::kWorker && h.sender_index != 0)
    return Status::Network(what + "only the chief (worker 0) sends " + message_type_name(h.type));
  return Status::Ok();
}

}  // namespace podlab
