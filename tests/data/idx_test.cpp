// Tests for engine/data/idx and load_dataset against malformed inputs: every failure must be a
// non-ok Status whose message names the file (or directory) at fault, and the well-formed case
// must parse exactly.
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/idx.h"

namespace podlab {
namespace {

std::vector<uint8_t> idx(uint32_t magic, std::vector<uint32_t> dims, std::vector<uint8_t> data) {
  std::vector<uint8_t> out;
  auto be32 = [&](uint32_t v) { for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s)); };
  be32(magic);
  for (uint32_t d : dims) be32(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> images(int n, int rows = 2, int cols = 2) {
  return idx(0x803, {uint32_t(n), uint32_t(rows), uint32_t(cols)}, std::vector<uint8_t>(n * rows * cols, 128));
}

std::vector<uint8_t> labels(int n, uint8_t value = 3) { return idx(0x801, {uint32_t(n)}, std::vector<uint8_t>(n, value)); }

std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  uLongf cap = compressBound(raw.size()) + 32;
  std::vector<uint8_t> out(cap);
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  zs.next_in = const_cast<uint8_t*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(cap);
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A scratch directory that removes its files on destruction.
struct Scratch {
  Scratch() {
    std::string templ = "/tmp/podlab_idx_test_XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    dir = templ;
  }
  ~Scratch() {
    for (const auto& p : written) ::unlink(p.c_str());
    ::rmdir(dir.c_str());
  }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    written.push_back(path);
    return path;
  }
  std::string dir;
  std::vector<std::string> written;
};

// Expects failure with kData and a message naming `path` and containing `what`.
template <typename R>
void expect_error(const R& r, const std::string& path, const std::string& what) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains(path) && Catch::Contains(what));
}

}  // namespace

TEST_CASE("idx: well-formed files parse, raw or gzipped", "[idx]") {
  Scratch s;
  auto img = read_idx_images(s.write("img", images(3, 2, 5)));
  REQUIRE(img.ok());
  CHECK(img->count == 3);
  CHECK(img->rows == 2);
  CHECK(img->cols == 5);
  CHECK(img->pixels.size() == 30);
  auto lab = read_idx_labels(s.write("lab.gz", gzip(labels(4, 9))));
  REQUIRE(lab.ok());
  CHECK(lab->count == 4);
  CHECK(lab->labels[3] == 9);
}

TEST_CASE("idx: truncated files", "[idx]") {
  Scratch s;
  std::vector<uint8_t> bytes = images(4);
  bytes.resize(bytes.size() - 5);
  std::string p = s.write("short-data", bytes);
  expect_error(read_idx_images(p), p, "truncated");
  p = s.write("short-header", std::vector<uint8_t>(bytes.begin(), bytes.begin() + 10));
  expect_error(read_idx_images(p), p, "header is truncated");
  p = s.write("tiny", {0, 0});
  expect_error(read_idx_images(p), p, "too short");
  p = s.write("empty", {});
  expect_error(read_idx_labels(p), p, "too short");
}

TEST_CASE("idx: wrong magic numbers", "[idx]") {
  Scratch s;
  std::string p = s.write("labels-as-images", labels(4));
  expect_error(read_idx_images(p), p, "wrong magic");
  p = s.write("images-as-labels", images(4));
  expect_error(read_idx_labels(p), p, "wrong magic");
  p = s.write("text", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'});
  expect_error(read_idx_images(p), p, "wrong magic");
}

TEST_CASE("idx: huge or zero counts in the header", "[idx]") {
  Scratch s;
  std::string p = s.write("huge-dim", idx(0x803, {0x7fffffffu, 28, 28}, {}));
  expect_error(read_idx_images(p), p, "implausibly large");
  p = s.write("huge-product", idx(0x803, {1u << 27, 1u << 10, 1u << 10}, {}));
  expect_error(read_idx_images(p), p, "implausibly large");
  p = s.write("more-than-present", idx(0x801, {1000000}, std::vector<uint8_t>(10, 1)));
  expect_error(read_idx_labels(p), p, "truncated");
  p = s.write("zero", idx(0x803, {0, 28, 28}, {}));
  expect_error(read_idx_images(p), p, "zero");
  p = s.write("trailing", [] { auto b = labels(3); b.push_back(0); return b; }());
  expect_error(read_idx_labels(p), p, "trailing");
}

TEST_CASE("idx: labels outside 0..num_classes-1", "[idx]") {
  Scratch s;
  std::vector<uint8_t> bytes = labels(5, 2);
  bytes.back() = 10;
  std::string p = s.write("label-10", bytes);
  expect_error(read_idx_labels(p, 10), p, "label 10 at index 4");
  bytes.back() = 255;
  p = s.write("label-255", bytes);
  expect_error(read_idx_labels(p, 10), p, "outside 0..9");
  CHECK(read_idx_labels(p, 256).ok());
}

TEST_CASE("idx: broken gzip", "[idx]") {
  Scratch s;
  const std::vector<uint8_t> gz = gzip(images(50, 28, 28));
  std::string p = s.write("cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
  expect_error(read_idx_images(p), p, "gzip");
  p = s.write("no-trailer.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 4));
  expect_error(read_idx_images(p), p, "gzip");
  std::vector<uint8_t> bad = gz;
  for (size_t i = 20; i < 40 && i < bad.size(); ++i) bad[i] ^= 0x5a;
  p = s.write("corrupt.gz", bad);
  auto r = read_idx_images(p);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains(p));
  p = s.write("header-only.gz", {0x1f, 0x8b});
  expect_error(read_idx_images(p), p, "gzip");
  // The trailer's size (ISIZE, the last 4 bytes) is checked, whichever inflater reads it: too large
  // to be true, or smaller than the content (libdeflate runs out of room, zlib finds the mismatch).
  std::vector<uint8_t> lie = gz;
  lie[lie.size() - 1] = 0x7f;
  p = s.write("huge-isize.gz", lie);
  expect_error(read_idx_images(p), p, "gzip trailer claims");
  lie = gz;
  lie[lie.size() - 4] = 10;
  lie[lie.size() - 3] = lie[lie.size() - 2] = lie[lie.size() - 1] = 0;
  p = s.write("small-isize.gz", lie);
  expect_error(read_idx_images(p), p, "gzip");
  // An empty content (ISIZE 0) goes through zlib's stream: then too short for IDX.
  p = s.write("empty.gz", gzip({}));
  expect_error(read_idx_images(p), p, "too short");
}

TEST_CASE("idx: a missing file is an I/O error naming it", "[idx]") {
  auto r = read_idx_images("/nonexistent/podlab/train-images-idx3-ubyte");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIo);
  CHECK_THAT(r.status().message(), Catch::Contains("/nonexistent/podlab/train-images-idx3-ubyte"));
}

TEST_CASE("load_dataset: mismatched image and label counts", "[idx]") {
  Scratch s;
  s.write("train-images-idx3-ubyte.gz", gzip(images(6)));
  s.write("train-labels-idx1-ubyte.gz", gzip(labels(5)));
  s.write("t10k-images-idx3-ubyte", images(2));
  s.write("t10k-labels-idx1-ubyte", labels(2));
  auto ds = load_dataset("mnist", s.dir);
  REQUIRE_FALSE(ds.ok());
  CHECK(ds.status().code() == StatusCode::kData);
  CHECK_THAT(ds.status().message(), Catch::Contains(s.dir) && Catch::Contains("train-images-idx3-ubyte") &&
                                        Catch::Contains("train-labels-idx1-ubyte") && Catch::Contains("6 images") &&
                                        Catch::Contains("5 labels"));

  s.write("train-labels-idx1-ubyte.gz", gzip(labels(6)));
  auto ok = load_dataset("mnist", s.dir, 4);
  REQUIRE(ok.ok());
  CHECK(ok->train.count == 4);  // the limit applies
  CHECK(ok->test.count == 2);
}

TEST_CASE("load_dataset: a bad file names its path", "[idx]") {
  Scratch s;
  s.write("train-images-idx3-ubyte", images(2));
  const std::string bad = s.write("train-labels-idx1-ubyte", labels(2, 42));
  s.write("t10k-images-idx3-ubyte", images(2));
  s.write("t10k-labels-idx1-ubyte", labels(2));
  auto ds = load_dataset("mnist", s.dir);
  REQUIRE_FALSE(ds.ok());
  CHECK_THAT(ds.status().message(), Catch::Contains(bad) && Catch::Contains("label 42"));
}

TEST_CASE("idx: headers alone, raw or gzipped, give the same shape as the whole file", "[idx]") {
  Scratch s;
  for (const bool gz : {false, true}) {
    const std::string img_path = s.write(gz ? "img.gz" : "img", gz ? gzip(images(7, 3, 5)) : images(7, 3, 5));
    const std::string lab_path = s.write(gz ? "lab.gz" : "lab", gz ? gzip(labels(7)) : labels(7));
    auto whole = read_idx_images(img_path);
    auto head = read_idx_images_header(img_path);
    REQUIRE(whole.ok());
    REQUIRE(head.ok());
    CHECK(head->count == whole->count);
    CHECK(head->rows == whole->rows);
    CHECK(head->cols == whole->cols);
    CHECK(head->pixels.empty());
    auto lab = read_idx_labels_header(lab_path);
    REQUIRE(lab.ok());
    CHECK(lab->count == 7);
    CHECK(lab->labels.empty());
  }
  // The header is checked; the data is not (the tasks that read it do that).
  std::string p = s.write("labels-as-images.gz", gzip(labels(4)));
  expect_error(read_idx_images_header(p), p, "wrong magic");
  p = s.write("short-header", std::vector<uint8_t>{0, 0, 8, 3, 0, 0});
  expect_error(read_idx_images_header(p), p, "header is truncated");
  p = s.write("zero", idx(0x803, {0, 28, 28}, {}));
  expect_error(read_idx_images_header(p), p, "zero");
  std::vector<uint8_t> short_data = images(4);
  short_data.resize(short_data.size() - 5);
  p = s.write("short-data", short_data);
  CHECK(read_idx_images_header(p).ok());
  p = s.write("garbage.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_FALSE(read_idx_images_header(p).ok());
  auto missing = read_idx_labels_header("/nonexistent/podlab/t10k-labels-idx1-ubyte");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kIo);
}

TEST_CASE("load_dataset_shape: the counts and shape of load_dataset, without the samples", "[idx]") {
  Scratch s;
  s.write("train-images-idx3-ubyte.gz", gzip(images(6, 4, 3)));
  s.write("train-labels-idx1-ubyte.gz", gzip(labels(6)));
  s.write("t10k-images-idx3-ubyte", images(2, 4, 3));
  s.write("t10k-labels-idx1-ubyte", labels(2));
  for (const int limit : {0, 4}) {
    auto full = load_dataset("mnist", s.dir, limit);
    auto shape = load_dataset_shape("mnist", s.dir, limit);
    REQUIRE(full.ok());
    REQUIRE(shape.ok());
    CHECK(shape->train.count == full->train.count);
    CHECK(shape->test.count == full->test.count);
    CHECK(shape->input_shape() == full->input_shape());
    CHECK(shape->class_names == full->class_names);
    CHECK(shape->train.pixels.empty());
    CHECK(shape->test.labels.empty());
  }
  s.write("train-labels-idx1-ubyte.gz", gzip(labels(5)));
  auto mismatch = load_dataset_shape("mnist", s.dir);
  REQUIRE_FALSE(mismatch.ok());
  CHECK_THAT(mismatch.status().message(), Catch::Contains("6 images") && Catch::Contains("5 labels"));
}

TEST_CASE("load_dataset: labels_crc is the same for the shape alone and tells other training data apart", "[idx]") {
  Scratch s;
  s.write("train-images-idx3-ubyte.gz", gzip(images(6)));
  s.write("train-labels-idx1-ubyte.gz", gzip(labels(6, 3)));
  s.write("t10k-images-idx3-ubyte", images(2));
  s.write("t10k-labels-idx1-ubyte", labels(2));
  auto whole = load_dataset("mnist", s.dir);
  auto shape = load_dataset_shape("fashion-mnist", s.dir);  // another name, the same files
  auto fewer = load_dataset("mnist", s.dir, 4);
  REQUIRE(whole.ok());
  REQUIRE(shape.ok());
  REQUIRE(fewer.ok());
  CHECK(shape->train.labels.empty());
  CHECK(whole->train.labels_crc == shape->train.labels_crc);
  CHECK(whole->train.labels_crc != fewer->train.labels_crc);  // --limit-train reads other data
  s.write("train-labels-idx1-ubyte.gz", gzip(labels(6, 5)));
  auto other = load_dataset_shape("mnist", s.dir);
  REQUIRE(other.ok());
  CHECK(other->train.labels_crc != whole->train.labels_crc);
}

}  // namespace podlab
