// Tests for engine/fetch: MD5 against the RFC 1321 test suite, then fetch_files against
// tests/data/http_server.py on 127.0.0.1 serving small IDX .gz files made here, with the expected
// sizes and checksums injected. Every transfer is bounded by short curl timeouts, and the server is
// killed when a test ends (it also exits on its own when our stdin pipe closes).
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/idx.h"
#include "engine/fetch/fetch.h"
#include "engine/fetch/md5.h"

namespace podlab {
namespace {

// ---- fixtures: small IDX files ----

std::vector<uint8_t> idx(uint32_t magic, std::vector<uint32_t> dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  auto be32 = [&](uint32_t v) { for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s)); };
  be32(magic);
  for (uint32_t d : dims) be32(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes, int level = 6) {
  gzFile f = gzopen(path.c_str(), ("wb" + std::to_string(level)).c_str());
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string make_temp_dir() {
  std::string templ = "/tmp/podlab_fetch_test_XXXXXX";
  REQUIRE(::mkdtemp(templ.data()) != nullptr);
  return templ;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

void remove_tree(const std::string& dir) {
  for (const auto& n : list_dir(dir)) ::unlink((dir + "/" + n).c_str());
  ::rmdir(dir.c_str());
}

// Writes a tiny MNIST-shaped dataset (6 train, 4 test images of 3x3) into `dir` as the four .gz files
// and returns their table entries (real names, sizes and MD5s of what was written).
std::vector<DatasetFile> make_dataset(const std::string& dir, int train_labels = 6) {
  auto images = [](int n) { std::vector<uint8_t> px(n * 9); for (size_t i = 0; i < px.size(); ++i) px[i] = i * 7 % 256; return px; };
  auto labels = [](int n) { std::vector<uint8_t> l(n); for (int i = 0; i < n; ++i) l[i] = i % 10; return l; };
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
      {"train-images-idx3-ubyte", idx(0x803, {6, 3, 3}, images(6))},
      {"train-labels-idx1-ubyte", idx(0x801, {uint32_t(train_labels)}, labels(train_labels))},
      {"t10k-images-idx3-ubyte", idx(0x803, {4, 3, 3}, images(4))},
      {"t10k-labels-idx1-ubyte", idx(0x801, {4}, labels(4))},
  };
  std::vector<DatasetFile> table;
  for (const auto& [name, bytes] : files) {
    const std::string path = dir + "/" + name + ".gz";
    write_gz(path, bytes);
    auto md5 = md5_file(path);
    REQUIRE(md5.ok());
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    table.push_back(DatasetFile{name, *md5, static_cast<int64_t>(in.tellg())});
  }
  return table;
}

// ---- the test server ----

class TestServer {
 public:
  explicit TestServer(const std::string& root) {
    int to_child[2], from_child[2];
    REQUIRE(::pipe(to_child) == 0);
    REQUIRE(::pipe(from_child) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
      const std::string script = std::string(PODLAB_TEST_DIR) + "/data/http_server.py";
      ::execlp("python3", "python3", script.c_str(), root.c_str(), "--lifetime", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_ = to_child[1];
    std::string line;
    pollfd p{from_child[0], POLLIN, 0};
    char c;
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) == 1 && ::read(from_child[0], &c, 1) == 1)
      line += c;
    ::close(from_child[0]);
    if (line.rfind("PORT ", 0) == 0) port_ = std::atoi(line.c_str() + 5);
  }
  ~TestServer() {
    ::close(stdin_);
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  bool up() const { return port_ > 0; }
  std::string url(const std::string& route) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + route;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

// A loopback port nobody listens on: bind an ephemeral port, then close it.
int closed_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(s);
  return ntohs(a.sin_port);
}

struct Env {  // a served dataset and a target directory that does not exist yet, removed afterwards
  Env()
      : served(make_temp_dir()), base(make_temp_dir()), target(base + "/sub/dir"), table(make_dataset(served)),
        server(served) {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);  // a proxy from the environment must not see loopback tests
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  }
  ~Env() {
    remove_tree(served);
    remove_tree(target);
    remove_tree(base + "/sub");
    remove_tree(base);
  }
  FetchOptions options(const std::string& route) {
    FetchOptions o;
    o.mirrors = {server.url(route)};
    o.dir = target;
    o.retries = 2;
    o.timeout_s = 2;
    o.backoff_s = 0.05;
    o.progress = [this](const FetchEvent& e) { events.push_back(e); };
    return o;
  }
  int count(FetchEvent::Kind k) const {
    int n = 0;
    for (const auto& e : events) n += e.kind == k;
    return n;
  }
  std::string served, base, target;
  std::vector<DatasetFile> table;
  TestServer server;
  std::vector<FetchEvent> events;
};

}  // namespace

TEST_CASE("md5 matches the RFC 1321 test suite", "[fetch][md5]") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
        "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5 gives the same digest however the input is split", "[fetch][md5]") {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  const std::string whole = md5_hex(data);
  for (size_t chunk : {1, 3, 55, 56, 63, 64, 65, 127, 999}) {
    Md5 h;
    for (size_t off = 0; off < data.size(); off += chunk) h.update(data.data() + off, std::min(chunk, data.size() - off));
    CHECK(h.hex_digest() == whole);
  }
  CHECK_FALSE(md5_file("/nonexistent/podlab").ok());
}

TEST_CASE("fetch: good files end up under their final names and load", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  auto r = fetch_files(env.table, env.options("good"));
  REQUIRE(r.ok());
  CHECK(r->size() == 4);
  CHECK(env.count(FetchEvent::Kind::kDone) == 4);
  CHECK(list_dir(env.target).size() == 4);  // the four files, no temporaries
  auto ds = load_dataset("mnist", env.target);
  REQUIRE(ds.ok());
  CHECK(ds->train.count == 6);
  CHECK(ds->test.count == 4);
  CHECK(ds->train.rows == 3);

  SECTION("a second fetch skips the verified files") {
    env.events.clear();
    auto again = fetch_files(env.table, env.options("missing"));  // would fail if it downloaded
    REQUIRE(again.ok());
    CHECK(env.count(FetchEvent::Kind::kSkipped) == 4);
    CHECK((*again)[0].skipped);
  }
  SECTION("a damaged file already in place is replaced") {
    std::ofstream(env.target + "/t10k-labels-idx1-ubyte.gz", std::ios::binary) << "garbage";
    env.events.clear();
    REQUIRE(fetch_files(env.table, env.options("good")).ok());
    CHECK(env.count(FetchEvent::Kind::kSkipped) == 3);
    CHECK(env.count(FetchEvent::Kind::kDone) == 1);
    CHECK(load_dataset("mnist", env.target).ok());
  }
  SECTION("check_dataset_dir sees matching checksums") {
    DirCheck c = check_dataset_dir(env.table, env.target);
    CHECK(c.content.ok());
    CHECK(c.all_checksums_match());
    CHECK(c.files[0].count == 6);
    CHECK(c.files[0].rows == 3);
  }
}

TEST_CASE("fetch: a truncated file is rejected and leaves nothing behind", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  auto r = fetch_files(env.table, env.options("truncated"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains(env.server.url("truncated/train-images-idx3-ubyte.gz")));
  CHECK_THAT(r.status().message(), Catch::Contains("truncated"));
  CHECK(list_dir(env.target).empty());  // no final file, no temporary
}

TEST_CASE("fetch: a connection cut mid-file is retried, then fails as a network error", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  auto r = fetch_files(env.table, env.options("cut"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNetwork);
  CHECK(env.count(FetchEvent::Kind::kRetry) == 2);
  CHECK(list_dir(env.target).empty());
}

TEST_CASE("fetch: a corrupted file of the right size fails the checksum", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  auto r = fetch_files(env.table, env.options("corrupt"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains("MD5"));
  CHECK(env.count(FetchEvent::Kind::kRetry) == 0);  // bad content is not retried on the same mirror
  CHECK(list_dir(env.target).empty());

  SECTION("without checksums the IDX parse still catches it") {
    FetchOptions o = env.options("corrupt");
    o.verify_checksum = false;
    auto r2 = fetch_files(env.table, o);
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.status().code() == StatusCode::kData);
    CHECK_THAT(r2.status().message(), Catch::Contains("corrupt/train-images-idx3-ubyte.gz"));
    CHECK(list_dir(env.target).empty());
  }
}

TEST_CASE("fetch: content that is not gzip is rejected even without checksums", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  const auto raw = idx(0x801, {6}, {0, 1, 2, 3, 4, 5});  // a valid IDX file, but not compressed
  std::ofstream(env.served + "/train-labels-idx1-ubyte.gz", std::ios::binary)
      .write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  FetchOptions o = env.options("good");
  o.verify_checksum = false;
  auto r = fetch_files(env.table, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains("train-labels-idx1-ubyte.gz: not a gzip file"));
  CHECK(list_dir(env.target).size() == 1);  // the images file before it is fine and stays
}

TEST_CASE("fetch: a refused connection is a network error after the retries", "[fetch]") {
  Env env;
  FetchOptions o = env.options("good");
  o.mirrors = {"http://127.0.0.1:" + std::to_string(closed_port())};
  const auto start = std::chrono::steady_clock::now();
  auto r = fetch_files(env.table, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNetwork);
  CHECK_THAT(r.status().message(), Catch::Contains("after 3 attempts"));
  CHECK(env.count(FetchEvent::Kind::kRetry) == 2);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(list_dir(env.target).empty());
}

TEST_CASE("fetch: HTTP 500 then 200 succeeds through a retry", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  auto r = fetch_files(env.table, env.options("flaky"));
  REQUIRE(r.ok());
  CHECK(env.count(FetchEvent::Kind::kRetry) == 4);  // one per file
  CHECK(load_dataset("mnist", env.target).ok());
}

TEST_CASE("fetch: a mirror answering 404 is left for the next one without retries", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  FetchOptions o = env.options("missing");
  o.mirrors.push_back(env.server.url("good"));
  auto r = fetch_files(env.table, o);
  REQUIRE(r.ok());
  CHECK(env.count(FetchEvent::Kind::kRetry) == 0);
  CHECK(env.count(FetchEvent::Kind::kMirrorFailed) == 4);
  CHECK((*r)[0].url == env.server.url("good/train-images-idx3-ubyte.gz"));
}

TEST_CASE("fetch: a stalled transfer times out", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  FetchOptions o = env.options("stall");
  o.retries = 0;
  o.timeout_s = 1;
  const auto start = std::chrono::steady_clock::now();
  auto r = fetch_files(env.table, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNetwork);
  CHECK_THAT(r.status().message(), Catch::Contains("no data for 1 s"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(list_dir(env.target).empty());
}

TEST_CASE("fetch: the stop flag interrupts and cleans up", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  volatile std::sig_atomic_t stop = 0;
  FetchOptions o = env.options("stall");
  o.stop = &stop;
  o.progress = [&stop](const FetchEvent& e) { if (e.kind == FetchEvent::Kind::kStart) stop = 1; };
  auto r = fetch_files(env.table, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInterrupted);
  CHECK(list_dir(env.target).empty());
}

TEST_CASE("fetch: images and labels with different counts are reported", "[fetch]") {
  Env env;
  REQUIRE(env.server.up());
  env.table = make_dataset(env.served, /*train_labels=*/5);  // overwrites the served files
  auto r = fetch_files(env.table, env.options("good"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains("6 images") && Catch::Contains("5 labels"));
}

TEST_CASE("check_dataset_dir: recompressed and uncompressed files verify by content", "[fetch]") {
  const std::string dir = make_temp_dir();
  std::vector<DatasetFile> table = make_dataset(dir);
  // Recompress one file at another level: same content, different bytes (what Debian ships).
  auto raw = read_maybe_gzipped(dir + "/train-labels-idx1-ubyte.gz");
  REQUIRE(raw.ok());
  write_gz(dir + "/train-labels-idx1-ubyte.gz", *raw, 1);  // level 1 sets a different XFL header byte
  DirCheck c = check_dataset_dir(table, dir);
  CHECK(c.content.ok());
  CHECK_FALSE(c.all_checksums_match());
  CHECK(c.files[1].checksum == ChecksumState::kDiffers);
  CHECK(c.files[0].checksum == ChecksumState::kMatch);

  // An uncompressed copy is found when the .gz is gone.
  auto images = read_maybe_gzipped(dir + "/t10k-images-idx3-ubyte.gz");
  REQUIRE(images.ok());
  ::unlink((dir + "/t10k-images-idx3-ubyte.gz").c_str());
  std::ofstream(dir + "/t10k-images-idx3-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(images->data()), static_cast<std::streamsize>(images->size()));
  c = check_dataset_dir(table, dir);
  CHECK(c.content.ok());
  CHECK(c.files[2].checksum == ChecksumState::kUncompressed);

  // A missing file makes the directory fail, naming the file.
  ::unlink((dir + "/t10k-labels-idx1-ubyte.gz").c_str());
  c = check_dataset_dir(table, dir);
  CHECK_FALSE(c.content.ok());
  CHECK_THAT(c.content.message(), Catch::Contains("t10k-labels-idx1-ubyte"));
  CHECK(c.files[3].checksum == ChecksumState::kMissing);
  remove_tree(dir);
}

}  // namespace podlab
