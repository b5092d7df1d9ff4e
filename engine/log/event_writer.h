// TensorBoard event files written without TensorFlow (format: docs/tensorboard-format.md in the
// shared docs). An event file is a sequence of TFRecord records, each holding one serialized Event
// protobuf: first a file_version "brain.Event:2" event, then scalars, graphs and session logs.
// Point `tensorboard --logdir` at the parent of the log dirs to compare runs.
//
// The encoders are free functions so tests and tools can check bytes without touching files;
// EventWriter adds the file, the framing and error reporting.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"

namespace podlab {

// One node of a TensorFlow GraphDef, as TensorBoard's graph view draws it. '/' in `name` makes
// name scopes ("layer1/MatMul"); a `device` such as "/job:ps/task:0" lets TensorBoard colour nodes
// by the parameter server holding them. Empty `op`/`device` are left out of the encoding.
struct GraphNode {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;  // names of the nodes feeding this one
  std::string device;
};

// Serialized GraphDef { repeated NodeDef node = 1 }, NodeDef { name 1, op 2, repeated input 3, device 4 }.
std::string serialize_graph_def(const std::vector<GraphNode>& nodes);

// Seconds since the Unix epoch, with sub-second precision: the Event wall_time.
double wall_time_now();

// Serialized Event payloads (not framed). Encoding follows proto3: a step of 0 is left out, as
// libprotobuf would; every other field given is written.
std::string encode_file_version_event(double wall_time);  // file_version "brain.Event:2"
std::string encode_scalar_event(std::string_view tag, float value, int64_t step, double wall_time);
std::string encode_session_start_event(int64_t step, double wall_time);  // SessionLog{status: START}
std::string encode_graph_event(std::string_view serialized_graph_def, int64_t step, double wall_time);

// One TFRecord: uint64 length, uint32 masked CRC-32C of those 8 bytes, the payload, uint32 masked
// CRC-32C of the payload, all little-endian.
std::string frame_tfrecord(std::string_view payload);

// Writes one event file. Every record is flushed to the OS before the call returns, so TensorBoard
// (and a crash) sees whole records. Not thread-safe: log from one thread, or lock around calls.
// After a write fails, the file may end in a partial record, so every later call returns that same
// error instead of writing after it.
class EventWriter {
 public:
  // Creates `log_dir` (and missing parents) and a new file
  // `<log_dir>/events.out.tfevents.<unix seconds>.<hostname>` (with ".1", ".2", ... appended if that
  // name is taken, so an existing file is never overwritten), then writes the file_version event.
  // Fails with StatusCode::kIo, naming the path, if the directory or file cannot be made or written.
  static Result<std::unique_ptr<EventWriter>> open(const std::string& log_dir);

  // Destruction closes the file; the records are already flushed.

  // A scalar summary point. Fails with kUsage for an empty tag, kIo on a write error.
  Status add_scalar(const std::string& tag, float value, int64_t step,
                    double wall_time = wall_time_now());
  // SessionLog START at `step`: after resuming from a checkpoint, TensorBoard then drops the points
  // with larger steps that the earlier, interrupted run had written.
  Status add_session_start(int64_t step);
  // A graph for TensorBoard's graph view; `serialized_graphdef` as made by serialize_graph_def.
  Status add_graph(const std::string& serialized_graphdef, int64_t step);

  // The event file's full path.
  const std::string& path() const { return path_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

  EventWriter(std::string path, FilePtr file) : path_(std::move(path)), file_(std::move(file)) {}
  // Frames `payload`, writes it and flushes.
  Status write_record(std::string_view payload);

  std::string path_;
  FilePtr file_;
  Status error_;  // the first write error, returned by every later call
};

}  // namespace podlab
