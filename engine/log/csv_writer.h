// The scalars of a run as a plain CSV file, `<log_dir>/scalars.csv`, for spreadsheets, pandas,
// gnuplot and lessons that diff expected output. Same points as the TensorBoard event file.
//
// Format (RFC 4180): header `step,wall_time,tag,value`, then one row per scalar. wall_time is Unix
// seconds with 6 decimals; value is the shortest decimal that reads back as the same float ("nan",
// "inf", "-inf" for non-finite values); a tag containing a comma, quote or line break is quoted.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "engine/status.h"

namespace podlab {

// Not thread-safe. Each row is flushed to the OS before add_scalar returns. After a write fails,
// every later call returns that same error.
class CsvWriter {
 public:
  // Creates `log_dir` (and missing parents) and opens `<log_dir>/scalars.csv` for appending. A new or
  // empty file gets the header; an existing file must start with that header (kData otherwise), and
  // rows are added after the old ones, so a resumed run keeps the earlier rows (steps may then repeat:
  // the later row wins). Fails with kIo, naming the path, if the directory or file cannot be made.
  static Result<std::unique_ptr<CsvWriter>> open(const std::string& log_dir);

  // Appends `step,wall_time,tag,value`. Fails with kUsage for an empty tag, kIo on a write error.
  Status add_scalar(const std::string& tag, float value, int64_t step, double wall_time);

  // The CSV file's full path.
  const std::string& path() const { return path_; }

  static constexpr const char* kHeader = "step,wall_time,tag,value";

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

  CsvWriter(std::string path, FilePtr file) : path_(std::move(path)), file_(std::move(file)) {}
  Status write_line(const std::string& line);

  std::string path_;
  FilePtr file_;
  Status error_;  // the first write error, returned by every later call
};

// One CSV field, quoted (with doubled quotes) only when it has to be.
std::string csv_escape(const std::string& field);

}  // namespace podlab
