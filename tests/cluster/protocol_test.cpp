// The wire format: round trips, the documented byte layout, and every way a message can be wrong.
#include <catch2/catch.hpp>

#include <cstring>

#include "cluster/protocol.h"
#include "engine/log/crc32c.h"

using namespace podlab;

namespace {

MessageHeader push_header(uint32_t count) {
  MessageHeader h;
  h.type = MessageType::kPush;
  h.sender_role = Role::kWorker;
  h.sender_index = 3;
  h.shard = 1;
  h.step = 0x123456789LL;
  h.seq = 77;
  h.aux = 100;
  h.offset = 0;
  h.count = count;
  return h;
}

// Rewrites the header checksum after a test edits header bytes on purpose.
void reseal(Bytes& b) {
  const uint32_t c = wire_crc32c(b.data(), 44);
  for (int i = 0; i < 4; ++i) b[44 + i] = static_cast<uint8_t>(c >> (8 * i));
}

std::string decode_error(const Bytes& b) {
  auto h = decode_message(b);
  REQUIRE(!h.ok());
  CHECK(h.status().code() == StatusCode::kNetwork);
  return h.status().message();
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("wire_crc32c is CRC-32C", "[cluster]") {
  CHECK(wire_crc32c("123456789", 9) == 0xE3069283u);
  CHECK(wire_crc32c(nullptr, 0) == 0u);
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t n : {1, 7, 8, 9, 63, 64, 1000}) CHECK(wire_crc32c(data.data(), n) == crc32c(data.data(), n));
}

TEST_CASE("messages round trip and follow PROTOCOL.md byte by byte", "[cluster]") {
  const std::vector<float> floats = {1.5f, -2.0f, 0.0f, 3.25e-7f};
  const MessageHeader h = push_header(4);
  const Bytes b = encode_message(h, floats.data());
  REQUIRE(b.size() == kHeaderBytes + 16);
  CHECK(std::memcmp(b.data(), "PDLB", 4) == 0);
  CHECK(b[4] == 1);   // version, little-endian
  CHECK(b[5] == 0);
  CHECK(b[6] == 3);   // PUSH
  CHECK(b[7] == 1);   // worker
  CHECK(b[8] == 3);   // index
  CHECK(b[12] == 1);  // shard
  CHECK(b[16] == 0x89);  // step, low byte first
  CHECK(b[20] == 0x01);
  CHECK(b[24] == 77);  // seq
  CHECK(b[28] == 100);  // aux
  CHECK(b[36] == 4);   // count

  auto d = decode_message(b);
  REQUIRE(d.ok());
  CHECK(d->type == MessageType::kPush);
  CHECK(d->sender_role == Role::kWorker);
  CHECK(d->sender_index == 3);
  CHECK(d->shard == 1);
  CHECK(d->step == 0x123456789LL);
  CHECK(d->seq == 77);
  CHECK(d->aux == 100);
  CHECK(d->count == 4);
  std::vector<float> out(4);
  read_payload(b.data(), *d, out.data());
  CHECK(out == floats);
  CHECK(d->debug_string() == "PUSH worker:3 shard 1 step 4886718345 seq 77 aux 100 [0,+4)");

  MessageHeader pull;
  pull.type = MessageType::kPull;
  auto p = decode_message(encode_message(pull, nullptr));
  REQUIRE(p.ok());
  CHECK(p->count == 0);
  CHECK(check_message_range(*p, 2, 10).ok());
}

TEST_CASE("REFUSE carries the ps's plan as text, and only a ps sends it", "[cluster]") {
  MessageHeader h;
  h.type = MessageType::kRefuse;
  h.sender_role = Role::kPs;
  h.seq = 9;
  const std::string plan = "model=mlp:200,200 optimizer=adam lr=0.003 total_steps=600";
  const Bytes b = encode_text_message(h, plan);
  auto d = decode_message(b);
  REQUIRE(d.ok());
  CHECK(d->type == MessageType::kRefuse);
  CHECK(check_message_range(*d, 1, 7850).ok());
  CHECK(read_text(b.data(), *d) == plan);
  CHECK(d->debug_string().rfind("REFUSE ps:0", 0) == 0);
  h.sender_role = Role::kWorker;
  auto w = decode_message(encode_text_message(h, plan));
  REQUIRE(w.ok());
  CHECK(check_message_range(*w, 1, 7850).message().find("only a ps sends REFUSE") != std::string::npos);
  w->count = 0;
  w->aux = 0;
  CHECK(!check_message_range(*w, 1, 7850).ok());
}

TEST_CASE("malformed messages are rejected with the reason", "[cluster]") {
  const std::vector<float> floats(8, 1.0f);
  const Bytes good = encode_message(push_header(8), floats.data());
  REQUIRE(decode_message(good).ok());

  CHECK(has(decode_error(Bytes(good.begin(), good.begin() + 20)), "truncated header"));
  CHECK(has(decode_error(Bytes()), "truncated header"));
  CHECK(has(decode_error(Bytes(good.begin(), good.end() - 4)), "truncated payload"));
  Bytes longer = good;
  longer.push_back(0);
  CHECK(has(decode_error(longer), "oversized"));

  Bytes b = good;
  b[0] = 'X';
  CHECK(has(decode_error(b), "magic"));
  b = good;
  b[4] = 2;
  CHECK(has(decode_error(b), "protocol version 2"));
  b = good;
  b[12] ^= 1;  // shard changed without resealing
  CHECK(has(decode_error(b), "header checksum"));
  b = good;
  b[kHeaderBytes + 5] ^= 0x40;  // a flipped payload bit
  CHECK(has(decode_error(b), "payload checksum"));
  b = good;
  b[6] = 11;
  reseal(b);
  CHECK(has(decode_error(b), "unknown message type"));
  b = good;
  b[7] = 3;
  reseal(b);
  CHECK(has(decode_error(b), "unknown sender role"));
  b = good;
  b[10] = 1;
  reseal(b);
  CHECK(has(decode_error(b), "reserved"));
  b = good;
  b[39] = 0x20;  // count = 2^29 + 8
  reseal(b);
  CHECK(has(decode_error(b), "exceeds"));
  b = good;
  b[23] = 0x80;  // negative step
  reseal(b);
  CHECK(has(decode_error(b), "negative step"));
}

TEST_CASE("messages must fit their shard and role", "[cluster]") {
  const std::vector<float> floats(16, 0.5f);
  auto range_error = [&](MessageHeader h, int shards, size_t shard_floats) {
    auto d = decode_message(encode_message(h, floats.data()));
    REQUIRE(d.ok());
    const Status st = check_message_range(*d, shards, shard_floats);
    REQUIRE(!st.ok());
    CHECK(st.code() == StatusCode::kNetwork);
    return st.message();
  };
  MessageHeader h = push_header(16);
  {
    auto d = decode_message(encode_message(h, floats.data()));
    REQUIRE(d.ok());
    CHECK(check_message_range(*d, 2, 16).ok());
  }
  CHECK(has(range_error(h, 1, 16), "shard out of range"));
  CHECK(has(range_error(h, 2, 8), "outside the shard"));
  CHECK(has(range_error(h, 2, 32), "whole shard"));
  h.offset = 8;
  h.count = 8;
  CHECK(has(range_error(h, 2, 16), "whole shard"));
  h.offset = 4000000000u;
  CHECK(has(range_error(h, 2, 16), "outside the shard"));

  MessageHeader pull;
  pull.type = MessageType::kPull;
  pull.count = 4;
  CHECK(has(range_error(pull, 1, 16), "no floats"));
  MessageHeader from_ps = push_header(16);
  from_ps.sender_role = Role::kPs;
  CHECK(has(range_error(from_ps, 2, 16), "only workers"));
  MessageHeader init = push_header(16);
  init.type = MessageType::kInit;
  CHECK(has(range_error(init, 2, 16), "only the chief"));
}

TEST_CASE("JOB and RESULT carry text, padded to whole words, and are checked", "[cluster]") {
  MessageHeader h;
  h.type = MessageType::kJob;
  h.sender_role = Role::kClient;
  h.shard = 1;
  h.step = 1795741763702;
  h.seq = 3;
  const std::string text = R"({"id": 1795741763702, "args": ["--epochs", "2"]})";
  const Bytes b = encode_text_message(h, text);
  CHECK(b.size() == kHeaderBytes + 4 * ((text.size() + 3) / 4));
  auto d = decode_message(b);
  REQUIRE(d.ok());
  CHECK(d->sender_role == Role::kClient);
  CHECK(d->aux == text.size());
  CHECK(check_message_range(*d, 2, 0).ok());
  CHECK(read_text(b.data(), *d) == text);
  CHECK(d->debug_string().rfind("JOB client:0", 0) == 0);  // index 0 in this header

  MessageHeader lying = *d;  // the text length and the words disagree
  lying.aux = static_cast<uint32_t>(text.size() + 4);
  CHECK(!check_message_range(lying, 2, 0).ok());
  MessageHeader empty = h;  // a status answer: no text, aux 0 or 1
  empty.type = MessageType::kResult;
  empty.aux = 1;
  CHECK(check_message_range(empty, 2, 0).ok());
  empty.aux = 7;
  CHECK(!check_message_range(empty, 2, 0).ok());
  MessageHeader push = h;  // a client sends only JOB, RESULT and STOP
  push.type = MessageType::kPull;
  CHECK(!check_message_range(push, 2, 0).ok());
  push.type = MessageType::kStop;
  CHECK(check_message_range(push, 2, 0).ok());
}
