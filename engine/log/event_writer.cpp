// Event encoding and the event file itself. Field numbers come from TensorFlow's event.proto and
// summary.proto, graph.proto and node_def.proto, as listed in the shared tensorboard-format doc.
#include "engine/log/event_writer.h"

#include <unistd.h>  // gethostname

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "engine/log/crc32c.h"
#include "engine/log/protobuf_writer.h"

namespace podlab {
namespace {

// Event fields.
constexpr int kEventWallTime = 1;     // double
constexpr int kEventStep = 2;         // int64
constexpr int kEventFileVersion = 3;  // string
constexpr int kEventGraphDef = 4;     // bytes (a serialized GraphDef)
constexpr int kEventSummary = 5;      // Summary
constexpr int kEventSessionLog = 7;   // SessionLog
// Summary { repeated Value value = 1 }; Value { tag 1, simple_value 2 (float) }.
constexpr int kSummaryValue = 1;
constexpr int kValueTag = 1;
constexpr int kValueSimpleValue = 2;
// SessionLog { status 1 (enum: START = 1) }.
constexpr int kSessionLogStatus = 1;
constexpr uint64_t kSessionStart = 1;
// GraphDef { repeated NodeDef node = 1 }; NodeDef { name 1, op 2, repeated input 3, device 4 }.
constexpr int kGraphDefNode = 1;
constexpr int kNodeName = 1, kNodeOp = 2, kNodeInput = 3, kNodeDevice = 4;

constexpr const char* kFileVersion = "brain.Event:2";

// wall_time and step, the fields every Event starts with (in field-number order, as libprotobuf writes).
ProtobufWriter event_header(int64_t step, double wall_time) {
  ProtobufWriter event;
  event.add_double(kEventWallTime, wall_time);
  if (step != 0) event.add_int64(kEventStep, step);  // proto3 leaves default values out
  return event;
}

void append_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  for (char& c : name)
    if (c == '/') c = '_';  // cannot happen on sane systems, but it would change the directory
  return name;
}

}  // namespace

std::string serialize_graph_def(const std::vector<GraphNode>& nodes) {
  ProtobufWriter graph;
  for (const GraphNode& node : nodes) {
    ProtobufWriter def;
    if (!node.name.empty()) def.add_bytes(kNodeName, node.name);
    if (!node.op.empty()) def.add_bytes(kNodeOp, node.op);
    for (const std::string& input : node.inputs) def.add_bytes(kNodeInput, input);
    if (!node.device.empty()) def.add_bytes(kNodeDevice, node.device);
    graph.add_message(kGraphDefNode, def);
  }
  return graph.release();
}

double wall_time_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

std::string encode_file_version_event(double wall_time) {
  ProtobufWriter event = event_header(0, wall_time);
  event.add_bytes(kEventFileVersion, kFileVersion);
  return event.release();
}

std::string encode_scalar_event(std::string_view tag, float value, int64_t step, double wall_time) {
  ProtobufWriter summary_value;
  summary_value.add_bytes(kValueTag, tag);
  // simple_value sits in a oneof, so it is written even when it is 0.
  summary_value.add_float(kValueSimpleValue, value);
  ProtobufWriter summary;
  summary.add_message(kSummaryValue, summary_value);
  ProtobufWriter event = event_header(step, wall_time);
  event.add_message(kEventSummary, summary);
  return event.release();
}

std::string encode_session_start_event(int64_t step, double wall_time) {
  ProtobufWriter session_log;
  session_log.add_varint(kSessionLogStatus, kSessionStart);
  ProtobufWriter event = event_header(step, wall_time);
  event.add_message(kEventSessionLog, session_log);
  return event.release();
}

std::string encode_graph_event(std::string_view serialized_graph_def, int64_t step, double wall_time) {
  ProtobufWriter event = event_header(step, wall_time);
  event.add_bytes(kEventGraphDef, serialized_graph_def);
  return event.release();
}

std::string frame_tfrecord(std::string_view payload) {
  std::string record;
  record.reserve(payload.size() + 16);
  append_le(record, payload.size(), 8);
  append_le(record, masked_crc32c(record), 4);  // covers exactly the 8 length bytes
  record.append(payload.data(), payload.size());
  append_le(record, masked_crc32c(payload), 4);
  return record;
}

Result<std::unique_ptr<EventWriter>> EventWriter::open(const std::string& log_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec || !fs::is_directory(log_dir))
    return Status::Io("cannot create log directory '" + log_dir + "': " +
                      (ec ? ec.message() : std::string("a file of that name is in the way")) +
                      "; choose another log directory or fix its permissions");

  const long long seconds = static_cast<long long>(wall_time_now());
  const std::string base =
      (fs::path(log_dir) / ("events.out.tfevents." + std::to_string(seconds) + "." + hostname())).string();
  // "x": fail rather than overwrite if two writers start in the same second in the same directory.
  std::string path = base;
  FilePtr file;
  for (int attempt = 1; attempt <= 100; ++attempt) {
    errno = 0;
    file.reset(std::fopen(path.c_str(), "wbx"));
    if (file || errno != EEXIST) break;
    path = base + "." + std::to_string(attempt);
  }
  if (!file)
    return Status::Io("cannot create event file '" + path + "': " + std::strerror(errno));

  std::unique_ptr<EventWriter> writer(new EventWriter(path, std::move(file)));
  PODLAB_RETURN_IF_ERROR(writer->write_record(encode_file_version_event(wall_time_now())));
  return Result<std::unique_ptr<EventWriter>>(std::move(writer));
}

Status EventWriter::add_scalar(const std::string& tag, float value, int64_t step, double wall_time) {
  if (tag.empty()) return Status::Usage("scalar tag for " + path_ + " is empty; give every scalar a name");
  return write_record(encode_scalar_event(tag, value, step, wall_time));
}

Status EventWriter::add_session_start(int64_t step) {
  return write_record(encode_session_start_event(step, wall_time_now()));
}

Status EventWriter::add_graph(const std::string& serialized_graphdef, int64_t step) {
  return write_record(encode_graph_event(serialized_graphdef, step, wall_time_now()));
}

Status EventWriter::write_record(std::string_view payload) {
  if (!error_.ok()) return error_;
  const std::string record = frame_tfrecord(payload);
  errno = 0;
  if (std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size() ||
      std::fflush(file_.get()) != 0) {
    const int err = errno;
    error_ = Status::Io("cannot write event file '" + path_ + "': " +
                        (err ? std::strerror(err) : "write failed") + "; is the disk full?");
  }
  return error_;
}

}  // namespace podlab
