// Child processes' stdout and stderr, read line by line through pipes, for a launcher that draws a
// progress bar on the terminal: their lines must be printed between its redraws, not across them.
// Single-threaded: the launcher's loop calls drain(); the sink runs on that thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace podlab {

class OutputRelay {
 public:
  // `source`: the name open() was given; `is_stderr`; one line without its '\n'.
  using Sink = std::function<void(const std::string& source, bool is_stderr, const std::string& line)>;

  explicit OutputRelay(Sink sink) : sink_(std::move(sink)) {}
  ~OutputRelay();
  OutputRelay(const OutputRelay&) = delete;
  OutputRelay& operator=(const OutputRelay&) = delete;

  // Before fork: a pipe for each of a child's stdout and stderr (close-on-exec). False when the system
  // has none to give (the child then writes to the launcher's own stdout and stderr).
  bool open(const std::string& source);
  // In the child after fork, before exec: makes the last open()'s pipes its stdout and stderr.
  void attach_in_child() const;
  // In the launcher after fork: closes the child's ends of the last open()'s pipes.
  void close_child_ends();
  // Hands the sink every complete line there is now, without waiting.
  void drain();
  // Once the children are gone: everything left, a last unterminated line included.
  void finish();

 private:
  struct Stream {
    std::string source;
    bool is_stderr = false;
    int fd = -1;  // read end, non-blocking; -1 after end of file
    std::string partial;
  };
  bool read_stream(Stream& s);  // false at end of file (then closed)

  Sink sink_;
  std::vector<Stream> streams_;
  int child_out_ = -1, child_err_ = -1;  // the last open()'s write ends, until close_child_ends()
};

}  // namespace podlab
