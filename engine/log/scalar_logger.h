// The one object training code logs scalars through: `podlab train --log-dir DIR` opens a
// ScalarLogger on DIR and calls log("loss", ...) each step. Each point goes to a TensorBoard event
// file and to scalars.csv in that directory, with the same step and wall time in both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/log/csv_writer.h"
#include "engine/log/event_writer.h"
#include "engine/status.h"

namespace podlab {

struct ScalarLoggerOptions {
  bool tensorboard = true;  // write events.out.tfevents.*
  bool csv = true;          // write scalars.csv
};

// Owns the writers for one log directory. Movable, not copyable, not thread-safe (log from one
// thread, e.g. the chief worker: one writer per directory). A default-constructed ScalarLogger
// has no writers and accepts every call, so callers without --log-dir need no branches.
class ScalarLogger {
 public:
  ScalarLogger() = default;

  // Creates `log_dir` and opens the writers chosen in `options`. Fails (kIo, kData) as
  // EventWriter::open and CsvWriter::open do; nothing is left open on failure.
  static Result<ScalarLogger> open(const std::string& log_dir, ScalarLoggerOptions options = {});

  // Writes one point to every open writer, even if an earlier one fails; returns the first error.
  Status log(const std::string& tag, float value, int64_t step);
  // Marks a resume from a checkpoint at `step` (a SessionLog START in the event file; the CSV
  // keeps all rows, so there a repeated step's later row wins).
  Status log_session_start(int64_t step);

  // True when at least one writer is open.
  bool enabled() const { return events_ != nullptr || csv_ != nullptr; }
  const std::string& log_dir() const { return log_dir_; }
  // The writers, or null when not open; e.g. events()->add_graph(...).
  EventWriter* events() { return events_.get(); }
  CsvWriter* csv() { return csv_.get(); }

 private:
  std::string log_dir_;
  std::unique_ptr<EventWriter> events_;
  std::unique_ptr<CsvWriter> csv_;
};

}  // namespace podlab
