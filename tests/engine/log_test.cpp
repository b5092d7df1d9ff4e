// Tests for engine/log: CRC-32C, the protobuf encoder, TensorBoard event files (checked byte by byte
// against the shared tensorboard-format doc and read back with an independent TFRecord reader),
// scalars.csv, and, when installed, cross-checks with protoc --decode_raw and python3-crcmod.
#include <catch2/catch.hpp>

#include <unistd.h>  // getpid

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/log/crc32c.h"
#include "engine/log/csv_writer.h"
#include "engine/log/event_writer.h"
#include "engine/log/protobuf_writer.h"
#include "engine/log/scalar_logger.h"

#include "tests/temp_dir.h"

namespace fs = std::filesystem;
using namespace podlab;

namespace {

using testing::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

uint64_t read_le(const std::string& bytes, size_t offset, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i)
    v |= uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  return v;
}

std::string hex_bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// A TFRecord reader written from the format doc, independent of frame_tfrecord: checks every
// record's length and both masked CRCs and returns the payloads.
std::vector<std::string> read_tfrecords(const std::string& file) {
  std::vector<std::string> payloads;
  size_t pos = 0;
  while (pos < file.size()) {
    REQUIRE(file.size() - pos >= 12);
    const uint64_t length = read_le(file, pos, 8);
    const uint32_t length_crc = static_cast<uint32_t>(read_le(file, pos + 8, 4));
    CHECK(unmask_crc32c(length_crc) == crc32c(file.data() + pos, 8));
    REQUIRE(file.size() - pos - 12 >= length + 4);
    const std::string payload = file.substr(pos + 12, length);
    const uint32_t payload_crc = static_cast<uint32_t>(read_le(file, pos + 12 + length, 4));
    CHECK(unmask_crc32c(payload_crc) == crc32c(payload));
    payloads.push_back(payload);
    pos += 12 + length + 4;
  }
  return payloads;
}

fs::path only_event_file(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) found.push_back(entry.path());
  REQUIRE(found.size() == 1);
  return found[0];
}

// Runs a shell command; returns its exit status (-1 if it could not start) and captures stdout.
int run(const std::string& command, std::string* output = nullptr) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    if (output) output->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("crc32c matches the published check values", "[log]") {
  CHECK(crc32c(std::string_view("123456789")) == 0xE3069283u);
  CHECK(crc32c(nullptr, 0) == 0u);
  // RFC 3720 (iSCSI) appendix B.4 vectors.
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(crc32c(ascending) == 0x46DD794Eu);
  // Extending in pieces gives the CRC of the whole.
  CHECK(crc32c_extend(crc32c(std::string_view("1234")), "56789", 5) == 0xE3069283u);
}

TEST_CASE("masked crc32c rotates and adds the TFRecord constant", "[log]") {
  CHECK(mask_crc32c(0xE3069283u) == 0xC78AB0E5u);  // computed independently from the doc's formula
  CHECK(masked_crc32c("123456789") == 0xC78AB0E5u);
  for (uint32_t c : {0u, 1u, 0xFFFFFFFFu, 0x12345678u, 0xE3069283u}) CHECK(unmask_crc32c(mask_crc32c(c)) == c);
}

TEST_CASE("protobuf writer encodes varints, tags and fixed values", "[log]") {
  ProtobufWriter w;
  w.add_varint(1, 300);
  CHECK(w.release() == hex_bytes({0x08, 0xAC, 0x02}));
  w.add_int64(2, -1);  // ten bytes of two's complement
  CHECK(w.release() == hex_bytes({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  w.add_float(2, 0.5f);
  CHECK(w.release() == hex_bytes({0x15, 0x00, 0x00, 0x00, 0x3F}));
  w.add_double(1, 1.0);
  CHECK(w.release() == hex_bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  w.add_bytes(16, "ab");  // field 16 needs a two-byte tag
  CHECK(w.release() == hex_bytes({0x82, 0x01, 0x02, 'a', 'b'}));
  CHECK(w.bytes().empty());
}

TEST_CASE("scalar event matches the byte-exact example in tensorboard-format.md", "[log]") {
  const double wall_time = 1700000000.25;
  const std::string event = encode_scalar_event("loss", 0.5f, 7, wall_time);
  REQUIRE(event.size() == 1 + 8 + 2 + 2 + 13);
  CHECK(event[0] == '\x09');
  double decoded;
  const uint64_t bits = read_le(event, 1, 8);
  std::memcpy(&decoded, &bits, sizeof decoded);
  CHECK(decoded == wall_time);
  const std::string expected_after_wall_time =
      hex_bytes({0x10, 0x07, 0x2A, 0x0D, 0x0A, 0x0B, 0x0A, 0x04, 'l', 'o', 's', 's', 0x15, 0x00, 0x00, 0x00, 0x3F});
  CHECK(event.substr(9) == expected_after_wall_time);

  const std::string record = frame_tfrecord(event);
  REQUIRE(record.size() == event.size() + 16);
  CHECK(read_le(record, 0, 8) == event.size());
  CHECK(read_le(record, 8, 4) == masked_crc32c(record.substr(0, 8)));
  CHECK(record.substr(12, event.size()) == event);
  CHECK(read_le(record, 12 + event.size(), 4) == masked_crc32c(event));
}

TEST_CASE("event file reads back record by record with valid lengths and CRCs", "[log]") {
  TempDir tmp;
  const fs::path dir = tmp.path / "run1" / "nested";  // open() creates missing parents
  auto writer = EventWriter::open(dir.string());
  REQUIRE(writer.ok());
  CHECK(fs::path(writer->get()->path()).parent_path() == dir);
  REQUIRE((*writer)->add_scalar("loss", 0.5f, 7, 1700000000.25).ok());
  REQUIRE((*writer)->add_scalar("train/accuracy", 0.0f, 0, 1700000001.5).ok());
  REQUIRE((*writer)->add_session_start(5).ok());
  const std::string graph = serialize_graph_def({{"x", "Placeholder", {}, ""},
                                                 {"layer1/MatMul", "MatMul", {"x", "layer1/w"}, "/job:ps/task:0"}});
  REQUIRE((*writer)->add_graph(graph, 0).ok());
  CHECK((*writer)->add_scalar("", 1.0f, 1).code() == StatusCode::kUsage);

  // Everything is flushed already: read while the writer is still open.
  const fs::path file = only_event_file(dir);
  const std::vector<std::string> payloads = read_tfrecords(read_file(file));
  REQUIRE(payloads.size() == 5);
  CHECK(payloads[0][0] == '\x09');
  CHECK(payloads[0].substr(9) == "\x1A\x0D" "brain.Event:2");
  CHECK(payloads[1] == encode_scalar_event("loss", 0.5f, 7, 1700000000.25));
  CHECK(payloads[2] == encode_scalar_event("train/accuracy", 0.0f, 0, 1700000001.5));
  CHECK(payloads[3].substr(9) == hex_bytes({0x10, 0x05, 0x3A, 0x02, 0x08, 0x01}));
  CHECK(payloads[4].substr(9, 1) == "\x22");
  CHECK(payloads[4].find(graph) != std::string::npos);

  // GraphDef bytes: node 1 = { name "x", op "Placeholder" }.
  CHECK(graph.substr(0, 2) == hex_bytes({0x0A, 0x10}));
  CHECK(graph.substr(2, 16) == std::string("\x0A\x01x\x12\x0BPlaceholder", 16));

  // A second writer in the same second gets its own file instead of overwriting the first.
  auto second = EventWriter::open(dir.string());
  REQUIRE(second.ok());
  CHECK((*second)->path() != (*writer)->path());
  CHECK(read_tfrecords(read_file(file)).size() == 5);
}

TEST_CASE("csv writer writes a header and one row per scalar", "[log]") {
  TempDir tmp;
  {
    auto csv = CsvWriter::open(tmp.path.string());
    REQUIRE(csv.ok());
    REQUIRE((*csv)->add_scalar("loss", 0.5f, 7, 1700000000.25).ok());
    REQUIRE((*csv)->add_scalar("a,\"b\"", 0.1f, 8, 1700000001.0).ok());
    CHECK(read_file(tmp.path / "scalars.csv") ==
          "step,wall_time,tag,value\n"
          "7,1700000000.250000,loss,0.5\n"
          "8,1700000001.000000,\"a,\"\"b\"\"\",0.1\n");
  }
  // Reopening (a resumed run) appends without a second header.
  auto again = CsvWriter::open(tmp.path.string());
  REQUIRE(again.ok());
  REQUIRE((*again)->add_scalar("loss", -2.0f, 9, 1700000002.0).ok());
  const std::string appended = read_file(tmp.path / "scalars.csv");
  CHECK(appended.find("step,wall_time", 1) == std::string::npos);
  CHECK(appended.substr(appended.rfind('\n', appended.size() - 2) + 1) == "9,1700000002.000000,loss,-2\n");

  // Someone else's CSV is not appended to.
  TempDir other;
  write_file(other.path / "scalars.csv", "epoch,loss\n1,0.3\n");
  auto foreign = CsvWriter::open(other.path.string());
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.status().code() == StatusCode::kData);
}

TEST_CASE("scalar logger writes the same points to the event file and the csv", "[log]") {
  TempDir tmp;
  auto logger = ScalarLogger::open(tmp.path.string());
  REQUIRE(logger.ok());
  CHECK(logger->enabled());
  REQUIRE(logger->log("loss", 2.25f, 1).ok());
  REQUIRE(logger->log("loss", 1.5f, 2).ok());
  REQUIRE(logger->log_session_start(2).ok());
  const std::vector<std::string> payloads = read_tfrecords(read_file(only_event_file(tmp.path)));
  REQUIRE(payloads.size() == 4);
  const std::string csv = read_file(tmp.path / "scalars.csv");
  CHECK(csv.find(",loss,2.25\n") != std::string::npos);
  CHECK(csv.find(",loss,1.5\n") != std::string::npos);
  // The CSV's wall_time is the event's, to the microsecond.
  const std::string first_row = csv.substr(csv.find('\n') + 1);
  double event_time;
  const uint64_t bits = read_le(payloads[1], 1, 8);
  std::memcpy(&event_time, &bits, sizeof event_time);
  CHECK(std::stod(first_row.substr(2)) == Approx(event_time).margin(1e-5));

  ScalarLogger disabled;
  CHECK_FALSE(disabled.enabled());
  CHECK(disabled.log("loss", 1.0f, 1).ok());
}

TEST_CASE("a log dir that cannot be created gives an Io status naming the path", "[log]") {
  TempDir tmp;
  write_file(tmp.path / "plain_file", "not a directory");
  const std::string bad = (tmp.path / "plain_file" / "run").string();
  auto events = EventWriter::open(bad);
  REQUIRE_FALSE(events.ok());
  CHECK(events.status().code() == StatusCode::kIo);
  CHECK(events.status().message().find(bad) != std::string::npos);
  auto csv = CsvWriter::open(bad);
  REQUIRE_FALSE(csv.ok());
  CHECK(csv.status().message().find(bad) != std::string::npos);
  auto logger = ScalarLogger::open(bad);
  REQUIRE_FALSE(logger.ok());
  CHECK(logger.status().code() == StatusCode::kIo);
  CHECK(logger.status().message().find(bad) != std::string::npos);
  // The log dir itself being a regular file fails the same way.
  auto on_file = EventWriter::open((tmp.path / "plain_file").string());
  REQUIRE_FALSE(on_file.ok());
  CHECK(on_file.status().message().find("plain_file") != std::string::npos);
}

TEST_CASE("external tools agree: protoc --decode_raw and python3-crcmod", "[log]") {
  TempDir tmp;
  const std::string scalar = encode_scalar_event("loss", 0.5f, 7, 1700000000.25);
  const std::string graph_event = encode_graph_event(
      serialize_graph_def({{"layer1/MatMul", "MatMul", {"x"}, "/job:ps/task:0"}}), 3, 1700000000.5);

  if (run("command -v protoc >/dev/null 2>&1") != 0) {
    WARN("protoc not on PATH; skipping the --decode_raw check (apt install protobuf-compiler)");
  } else {
    const fs::path payload = tmp.path / "payload.bin";
    write_file(payload, scalar);
    std::string out;
    REQUIRE(run("protoc --decode_raw < '" + payload.string() + "'", &out) == 0);
    INFO(out);
    CHECK(out.find("5 {") != std::string::npos);
    CHECK(out.find("\"loss\"") != std::string::npos);
    CHECK(out.find("2: 7") != std::string::npos);

    write_file(payload, graph_event);
    out.clear();
    REQUIRE(run("protoc --decode_raw < '" + payload.string() + "'", &out) == 0);
    INFO(out);
    CHECK(out.find("layer1/MatMul") != std::string::npos);
    CHECK(out.find("/job:ps/task:0") != std::string::npos);
  }

  // The first python3 on PATH may be a pyenv one without Debian's python3-crcmod; try the system one too.
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    if (run(std::string(candidate) + " -c 'import crcmod' >/dev/null 2>&1") == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) {
    WARN("python3 with crcmod not found; skipping the CRC cross-check (apt install python3-crcmod)");
    return;
  }
  for (const std::string& bytes : {std::string("123456789"), scalar, graph_event, frame_tfrecord(scalar)}) {
    const fs::path file = tmp.path / "crc_input.bin";
    write_file(file, bytes);
    std::string out;
    REQUIRE(run(python + " -c \"import crcmod.predefined as p, sys; "
                         "print(p.mkCrcFun('crc-32c')(open(sys.argv[1], 'rb').read()))\" '" +
                    file.string() + "'",
                &out) == 0);
    INFO("crcmod says " << out);
    CHECK(std::stoul(out) == crc32c(bytes));
  }
}
