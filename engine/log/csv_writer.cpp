// scalars.csv writing. Numbers go through std::to_chars, which ignores the C locale, so a German
// locale cannot turn "0.5" into "0,5" and break the columns.
#include "engine/log/csv_writer.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace podlab {
namespace {

std::string format_float(float value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

std::string format_wall_time(double seconds) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed, 6);
  if (res.ec != std::errc()) return "nan";  // only for absurd values; keeps the row well formed
  return std::string(buf, res.ptr);
}

}  // namespace

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Result<std::unique_ptr<CsvWriter>> CsvWriter::open(const std::string& log_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec || !fs::is_directory(log_dir))
    return Status::Io("cannot create log directory '" + log_dir + "': " +
                      (ec ? ec.message() : std::string("a file of that name is in the way")) +
                      "; choose another log directory or fix its permissions");
  const std::string path = (fs::path(log_dir) / "scalars.csv").string();

  // An existing file is appended to only if it is ours; appending rows to some other CSV would
  // produce a file neither program can read.
  bool need_header = true;
  bool need_newline = false;  // a crash mid-row leaves a partial last line; start on a fresh one
  {
    std::ifstream existing(path, std::ios::binary);
    std::string first_line;
    if (existing && std::getline(existing, first_line)) {
      if (!first_line.empty() && first_line.back() == '\r') first_line.pop_back();
      if (first_line != kHeader)
        return Status::Data(path + ": exists but does not start with the header '" + kHeader +
                            "'; move it away or choose another log directory");
      need_header = false;
      existing.clear();
      existing.seekg(-1, std::ios::end);
      need_newline = existing.get() != '\n';
    }
  }

  errno = 0;
  FilePtr file(std::fopen(path.c_str(), "ab"));
  if (!file) return Status::Io("cannot open '" + path + "' for appending: " + std::strerror(errno));
  std::unique_ptr<CsvWriter> writer(new CsvWriter(path, std::move(file)));
  if (need_header) PODLAB_RETURN_IF_ERROR(writer->write_line(kHeader));
  if (need_newline) PODLAB_RETURN_IF_ERROR(writer->write_line(""));
  return Result<std::unique_ptr<CsvWriter>>(std::move(writer));
}

Status CsvWriter::add_scalar(const std::string& tag, float value, int64_t step, double wall_time) {
  if (tag.empty()) return Status::Usage("scalar tag for " + path_ + " is empty; give every scalar a name");
  return write_line(std::to_string(step) + "," + format_wall_time(wall_time) + "," + csv_escape(tag) +
                    "," + format_float(value));
}

Status CsvWriter::write_line(const std::string& line) {
  if (!error_.ok()) return error_;
  const std::string row = line + "\n";
  errno = 0;
  if (std::fwrite(row.data(), 1, row.size(), file_.get()) != row.size() ||
      std::fflush(file_.get()) != 0) {
    const int err = errno;
    error_ = Status::Io("cannot write '" + path_ + "': " + (err ? std::strerror(err) : "write failed") +
                        "; is the disk full?");
  }
  return error_;
}

}  // namespace podlab
