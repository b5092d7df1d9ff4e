// Pipes from child processes, read without blocking (see output_relay.h).
#include "cluster/output_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace podlab {

OutputRelay::~OutputRelay() {
  close_child_ends();
  for (Stream& s : streams_)
    if (s.fd >= 0) ::close(s.fd);
}

bool OutputRelay::open(const std::string& source) {
  close_child_ends();
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return false;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  for (int fd : {out[0], err[0]}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  streams_.push_back(Stream{source, false, out[0], {}});
  streams_.push_back(Stream{source, true, err[0], {}});
  child_out_ = out[1];
  child_err_ = err[1];
  return true;
}

void OutputRelay::attach_in_child() const {
  if (child_out_ < 0) return;
  ::dup2(child_out_, STDOUT_FILENO);  // the duplicates stay open across exec
  ::dup2(child_err_, STDERR_FILENO);
}

void OutputRelay::close_child_ends() {
  if (child_out_ >= 0) ::close(child_out_);
  if (child_err_ >= 0) ::close(child_err_);
  child_out_ = child_err_ = -1;
}

bool OutputRelay::read_stream(Stream& s) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n > 0) {
      s.partial.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1)
        sink_(s.source, s.is_stderr, s.partial.substr(start, nl - start));
      s.partial.erase(0, start);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    // End of file (every writer gone), or an error that will not clear: the rest, then close.
    if (!s.partial.empty()) sink_(s.source, s.is_stderr, s.partial);
    s.partial.clear();
    ::close(s.fd);
    s.fd = -1;
    return false;
  }
}

void OutputRelay::drain() {
  for (Stream& s : streams_)
    if (s.fd >= 0) read_stream(s);
}

void OutputRelay::finish() {
  close_child_ends();
  // The children are gone, so each pipe holds what they wrote and then its end: a few passes at most.
  for (int pass = 0; pass < 1000; ++pass) {
    bool open = false;
    for (Stream& s : streams_)
      if (s.fd >= 0) open = read_stream(s) || open;
    if (!open) return;
  }
}

}  // namespace podlab
