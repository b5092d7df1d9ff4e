// The wire format between podlab tasks: a fixed 48-byte little-endian header plus raw float32s.
// PROTOCOL.md beside this file documents it byte by byte. Encoding and decoding are pure functions;
// decode_message() checks everything a peer could get wrong (size, magic, version, checksums, field
// ranges) and returns a Status instead of trusting the bytes. Floats are in shard coordinates
// (see placement.h): a message carries floats [offset, offset + count) of one ps shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_spec.h"
#include "cluster/wire_crc.h"
#include "engine/status.h"

namespace podlab {

using Bytes = std::vector<uint8_t>;

inline constexpr uint32_t kProtocolMagic = 0x424C4450;  // bytes "PDLB" on the wire
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 48;
inline constexpr uint32_t kMaxPayloadFloats = 1u << 28;  // 1 GiB of floats per message
inline constexpr uint32_t kMaxSnapshotSlotBlocks = 8;   // optimiser slot blocks in a ps SNAPSHOT (adam: 2)
inline constexpr uint32_t kMaxTextBytes = 1u << 20;     // a JOB's or RESULT's text

enum class MessageType : uint8_t {
  kInit = 1,    // chief -> ps: initial values of the whole shard; answered by kParams
  kPull = 2,    // worker -> ps: no floats; answered by kParams once the ps is initialised
  kPush = 3,    // worker -> ps: gradient of the whole shard; `step` = the version it was computed
                //   on, `aux` = samples in the batch; answered by kParams (when, depends on the mode)
  kParams = 4,  // ps -> worker: values of the whole shard at version `step`; `seq` echoes the request
  kStop = 5,    // chief -> ps: training is over, answered by kParams (final values);
                //   ps -> worker: no floats, training is over, exit
  kHeartbeat = 6,  // worker -> ps: no floats, "I am alive"; ps -> worker: no floats, the answer
  kSnapshot = 7,   // chief -> ps: no floats, "send me your state"; ps -> chief: the shard's values
                   //   followed by `aux` blocks of optimiser slots (count = (1 + aux) * shard size)
  // Wait-for-job servers (PROTOCOL.md, "Jobs"); text payloads: `aux` bytes of UTF-8 JSON, zero-padded
  // to count = ceil(aux / 4) words. `step` is the job id.
  kJob = 8,     // client -> ps: a job (text), answered by JOB (no text; aux 0 accepted, 1 busy);
                // worker -> ps 0: no text, "a job newer than `step`?", answered by JOB (text) or HEARTBEAT
  kResult = 9,  // chief -> ps 0: the job's final report (text), answered by RESULT (no text);
                // client -> ps 0: no text, "is job `step` done?", answered by RESULT (text) or HEARTBEAT
  kRefuse = 10,  // ps -> worker: text, "your training plan is not mine": the answer to an INIT or PULL
                 //   whose `aux` (the worker's plan fingerprint) differs from the ps's; the text is the
                 //   ps's plan. The worker ends with a configuration error.
};
const char* message_type_name(MessageType t);

struct MessageHeader {
  MessageType type = MessageType::kPull;
  Role sender_role = Role::kWorker;
  uint16_t sender_index = 0;
  uint32_t shard = 0;
  int64_t step = 0;      // parameter version (number of updates the shard has applied)
  uint32_t seq = 0;      // request number of the sender; replies carry the request's seq
  uint32_t aux = 0;      // kPush: samples behind the gradient; ps kSnapshot: slot blocks; otherwise 0
  uint32_t offset = 0;   // first float, in shard coordinates
  uint32_t count = 0;    // floats in the payload
  // "PUSH worker:1 shard 0 step 12 seq 5 [0,+1024)" for logs.
  std::string debug_string() const;
};

// Header plus `header.count` floats from `floats` (may be null when count is 0). Fills in the checksums.
Bytes encode_message(const MessageHeader& header, const float* floats);
// The same into `out`, reusing its capacity: a task that encodes its next message into the buffer of
// the last one it received allocates nothing in steady state (fresh megabyte buffers cost page faults).
void encode_message_into(const MessageHeader& header, const float* floats, Bytes* out);

// Validates `bytes` and returns its header. Errors (all kNetwork, message says which check failed):
// shorter than a header, bad magic, other version, bad header checksum, unknown type or role, total
// size not header + 4 * count (truncated or oversized), payload checksum mismatch.
Result<MessageHeader> decode_message(const uint8_t* bytes, size_t size);
inline Result<MessageHeader> decode_message(const Bytes& b) { return decode_message(b.data(), b.size()); }

// A JOB or RESULT (or a ps's HEARTBEAT to a client: the job's progress) carrying `text` (header.aux and count are set from it; at most kMaxTextBytes).
Bytes encode_text_message(MessageHeader header, const std::string& text);
// The text of a decoded JOB or RESULT that passed check_message_range.
std::string read_text(const uint8_t* bytes, const MessageHeader& header);

// decode_message() minus the payload checksum (a message without floats must still carry 0): for
// messages a Transport handed out, whose payload it has already checked where they crossed a network
// (transport.h), so a payload is checksummed once on its way, not once per reader.
Result<MessageHeader> decode_header(const uint8_t* bytes, size_t size);
inline Result<MessageHeader> decode_header(const Bytes& b) { return decode_header(b.data(), b.size()); }

// decode_message() while copying the bytes into `out` (resized to fit), reading them once: how a
// network transport takes a message out of its receive buffer. On an error `out` holds garbage.
Result<MessageHeader> decode_message_copy(const uint8_t* bytes, size_t size, Bytes* out);

// Copies the payload of an already decoded message into `out` (header.count floats).
void read_payload(const uint8_t* bytes, const MessageHeader& header, float* out);
// The same for a message whose payload checksum is not checked yet (decode_header() accepted it):
// computes it while copying and returns whether it matches. On false `out` holds garbage.
bool copy_payload_checked(const uint8_t* bytes, const MessageHeader& header, float* out);
// The payload of an already decoded message as floats where it lies (little-endian hosts, which
// podlab assumes everywhere), or nullptr when they are not float-aligned (then use read_payload()).
inline const float* payload_floats(const uint8_t* bytes) {
  const uint8_t* p = bytes + kHeaderBytes;
  return reinterpret_cast<uintptr_t>(p) % alignof(float) == 0 ? reinterpret_cast<const float*>(p) : nullptr;
}

// Checks that a decoded message fits a shard of `shard_floats` floats and that the fields its type
// needs are right: offset + count within the shard, kInit/kPush/kParams cover the whole shard,
// kPull/kStop/kHeartbeat and a worker's kSnapshot carry no floats; a ps's kSnapshot carries
// (1 + aux) whole shards (aux <= 8); JOB and RESULT carry ceil(aux / 4) words of text or nothing
// (aux 0 or 1). `num_shards` bounds header.shard.
Status check_message_range(const MessageHeader& header, int num_shards, size_t shard_floats);

}  // namespace podlab
