// OutputRelay: children's stdout and stderr, line by line, in order per stream, nothing lost.
#include "cluster/output_relay.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace podlab;

namespace {

struct Line {
  std::string source;
  bool is_stderr;
  std::string text;
};

// Forks a child that runs `body` with the relay's pipes as its stdout and stderr, then _exit(0).
// `body` must not allocate (write_all on string literals or strings made before the fork).
template <typename Body>
pid_t spawn(OutputRelay& relay, const std::string& name, Body body) {
  REQUIRE(relay.open(name));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    relay.attach_in_child();
    body();
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(0);
  }
  relay.close_child_ends();
  return pid;
}

void write_all(int fd, const char* data, size_t size) {
  for (size_t at = 0; at < size;) {
    const ssize_t n = ::write(fd, data + at, size - at);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}
void write_all(int fd, const std::string& s) { write_all(fd, s.data(), s.size()); }
template <size_t N>
void write_all(int fd, const char (&text)[N]) {
  write_all(fd, text, N - 1);
}

}  // namespace

TEST_CASE("the output relay hands over each child's lines per stream, a last unterminated one too", "[cluster]") {
  std::vector<Line> lines;
  OutputRelay relay([&](const std::string& source, bool is_stderr, const std::string& text) {
    lines.push_back({source, is_stderr, text});
  });
  // A line split across writes, an empty line, a long line (several pipe reads), no final newline.
  // The children only write(2) and sleep: this process may have threads, so nothing that allocates.
  const std::string long_line(20000, 'x');
  const std::string rest = " done\n\n" + long_line + "\n";
  const pid_t a = spawn(relay, "worker:0", [&] {
    write_all(1, "epoch 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    write_all(1, rest);
    write_all(2, "podlab: a warning\n");
    write_all(1, "last words");
  });
  const pid_t b = spawn(relay, "ps:0", [&] { write_all(2, "podlab: ps:0: serving\n"); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int exited = 0;
  while (exited < 2 && std::chrono::steady_clock::now() < deadline) {
    relay.drain();
    int status = 0;
    while (::waitpid(-1, &status, WNOHANG) > 0) ++exited;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(exited == 2);
  relay.finish();
  (void)a;
  (void)b;

  std::vector<std::string> out0, err0, err1;
  for (const Line& l : lines) {
    if (l.source == "worker:0") (l.is_stderr ? err0 : out0).push_back(l.text);
    else if (l.source == "ps:0" && l.is_stderr) err1.push_back(l.text);
    else FAIL("a line from nowhere: " << l.source << " " << l.text);
  }
  CHECK(out0 == std::vector<std::string>{"epoch 1 done", "", long_line, "last words"});
  CHECK(err0 == std::vector<std::string>{"podlab: a warning"});
  CHECK(err1 == std::vector<std::string>{"podlab: ps:0: serving"});
}

TEST_CASE("the output relay's drain does not wait for a child that says nothing", "[cluster]") {
  int count = 0;
  OutputRelay relay([&](const std::string&, bool, const std::string&) { ++count; });
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t pid = spawn(relay, "worker:1", [&] {
    char c;
    (void)::read(go[0], &c, 1);  // silent until told
    write_all(1, "now\n");
  });
  const auto t0 = std::chrono::steady_clock::now();
  relay.drain();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
  CHECK(count == 0);
  write_all(go[1], "g");
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  relay.finish();
  CHECK(count == 1);
  ::close(go[0]);
  ::close(go[1]);
}
