// Tests for engine/checkpoint: the byte format round trip, every load-time check (corrupt, truncated,
// wrong magic, future version, implausible counts with a valid CRC, inconsistent sizes), restore
// mismatches, checkpoint directories (`latest`, keeping the newest N, unwritable paths), and the
// property checkpoints exist for: stopping, saving, loading into a new trainer and continuing gives
// bit-for-bit the parameters of the uninterrupted run.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/binary_io.h"
#include "engine/checkpoint.h"
#include "engine/log/crc32c.h"
#include "engine/rng.h"

#include "tests/temp_dir.h"

namespace fs = std::filesystem;
using namespace podlab;

namespace {

using testing::TempDir;

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Rewrites the trailing CRC so a hand-edited file passes the checksum and reaches the later checks.
void fix_crc(std::string& bytes) {
  ByteWriter w;
  w.u32(crc32c(bytes.data(), bytes.size() - 4));
  bytes.replace(bytes.size() - 4, 4, w.bytes());
}

void put_u32(std::string& bytes, size_t at, uint32_t v) {
  ByteWriter w;
  w.u32(v);
  bytes.replace(at, 4, w.bytes());
}

void put_u64(std::string& bytes, size_t at, uint64_t v) {
  ByteWriter w;
  w.u64(v);
  bytes.replace(at, 8, w.bytes());
}

// A small checkpoint with every field set to something other than its default.
Checkpoint small_checkpoint() {
  Checkpoint c;
  c.model_spec = "mlp:3";
  c.dataset = "fashion-mnist";
  c.input_h = 2;
  c.input_w = 1;
  c.input_c = 1;
  c.classes = 3;
  c.seed = 0x123456789ABCDEF0ull;
  c.batch = 7;
  c.threads = 2;
  c.optimizer.name = "adam";
  c.optimizer.lr = 0.003f;
  c.optimizer.momentum = 0.5f;
  c.optimizer.beta1 = 0.8f;
  c.optimizer.beta2 = 0.99f;
  c.optimizer.epsilon = 1e-7f;
  c.optimizer.schedule.kind = LrSchedule::Kind::kExponential;
  c.optimizer.schedule.rate = 0.96f;
  c.optimizer.schedule.every = 1000;
  c.position = TrainPosition{12345, 3, 17};
  c.optimizer_steps = 12345;
  c.variables.resize(2);  // packed: offsets are running sums of rows * cols
  c.variables[0].name = "layer1/weights";
  c.variables[0].rows = 2;
  c.variables[0].cols = 3;
  c.variables[1].name = "layer1/biases";
  c.variables[1].rows = 1;
  c.variables[1].cols = 3;
  c.variables[1].offset = 6;
  for (int i = 0; i < 9; ++i) c.parameters.push_back(0.25f * i - 1.0f);
  c.parameters[4] = -0.0f;
  for (int i = 0; i < 18; ++i) c.optimizer_slots.push_back(1.0f / (i + 1));
  return c;
}

// Byte offsets of small_checkpoint() fields, from the layout documented in checkpoint.cpp.
constexpr size_t kModelSpecLength = 12;
constexpr size_t kVariableCount = 12 + (4 + 5) + (4 + 13) + 16 + 8 + 8 + (4 + 4) + 20 + 4 + 4 + 8 + 8 + 8 + 8;
constexpr size_t kSecondRows = kVariableCount + 4 + (4 + 14 + 4 + 4 + 8) + (4 + 13);
constexpr size_t kParameterCount = kSecondRows + 4 + 4 + 8;

void require_same(const Checkpoint& a, const Checkpoint& b) {
  REQUIRE(a.model_spec == b.model_spec);
  REQUIRE(a.dataset == b.dataset);
  REQUIRE(a.input_h == b.input_h);
  REQUIRE(a.input_w == b.input_w);
  REQUIRE(a.input_c == b.input_c);
  REQUIRE(a.classes == b.classes);
  REQUIRE(a.seed == b.seed);
  REQUIRE(a.batch == b.batch);
  REQUIRE(a.threads == b.threads);
  REQUIRE(a.optimizer.name == b.optimizer.name);
  REQUIRE(a.optimizer.lr == b.optimizer.lr);
  REQUIRE(a.optimizer.momentum == b.optimizer.momentum);
  REQUIRE(a.optimizer.beta1 == b.optimizer.beta1);
  REQUIRE(a.optimizer.beta2 == b.optimizer.beta2);
  REQUIRE(a.optimizer.epsilon == b.optimizer.epsilon);
  REQUIRE(a.optimizer.schedule.kind == b.optimizer.schedule.kind);
  REQUIRE(a.optimizer.schedule.rate == b.optimizer.schedule.rate);
  REQUIRE(a.optimizer.schedule.every == b.optimizer.schedule.every);
  REQUIRE(a.position.step == b.position.step);
  REQUIRE(a.position.epoch == b.position.epoch);
  REQUIRE(a.position.batch_in_epoch == b.position.batch_in_epoch);
  REQUIRE(a.optimizer_steps == b.optimizer_steps);
  REQUIRE(a.variables.size() == b.variables.size());
  for (size_t i = 0; i < a.variables.size(); ++i) {
    REQUIRE(a.variables[i].name == b.variables[i].name);
    REQUIRE(a.variables[i].rows == b.variables[i].rows);
    REQUIRE(a.variables[i].cols == b.variables[i].cols);
    REQUIRE(a.variables[i].offset == b.variables[i].offset);
  }
  REQUIRE(std::memcmp(a.parameters.data(), b.parameters.data(), 4 * a.parameters.size()) == 0);
  REQUIRE(a.parameters.size() == b.parameters.size());
  REQUIRE(a.optimizer_slots == b.optimizer_slots);
}

// Saves small_checkpoint() to dir/name and returns its bytes.
std::string saved_bytes(const TempDir& dir, const std::string& name = "a.podlab") {
  REQUIRE(save_checkpoint((dir.path / name).string(), small_checkpoint()).ok());
  return read_bytes(dir.path / name);
}

// Loads `bytes` written to a file and returns the error (REQUIREs that loading failed).
Status load_error(const TempDir& dir, const std::string& bytes) {
  const fs::path p = dir.path / "bad.podlab";
  write_bytes(p, bytes);
  auto r = load_checkpoint(p.string());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kData);
  CHECK_THAT(r.status().message(), Catch::Contains(p.string()));
  return r.status();
}

// 200 random 8x8 images with labels 0..9.
Split synthetic_split(int count = 200) {
  Split s;
  s.count = count;
  s.rows = s.cols = 8;
  Rng rng(99);
  s.pixels.resize(static_cast<size_t>(count) * 64);
  for (auto& p : s.pixels) p = static_cast<uint8_t>(rng.below(256));
  for (int i = 0; i < count; ++i) s.labels.push_back(static_cast<uint8_t>(i % 10));
  return s;
}

std::unique_ptr<Trainer> make_trainer(const std::string& spec, int threads, int batch = 16,
                                      const std::string& optimizer = "adam") {
  TrainConfig cfg;
  auto model = ModelSpec::parse(spec);
  REQUIRE(model.ok());
  cfg.model = *model;
  cfg.optimizer.name = optimizer;
  cfg.optimizer.lr = 0.01f;
  cfg.batch = batch;
  cfg.threads = threads;
  cfg.seed = 5;
  auto t = Trainer::create(cfg, Shape{8, 8, 1}, 10);
  REQUIRE(t.ok());
  return std::move(*t);
}

// "n of m floats differ, first at i: x vs y", or "equal".
template <typename A, typename B>
std::string difference(const A& a, const B& b) {
  if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  size_t n = 0, first = 0;
  for (size_t i = a.size(); i-- > 0;)
    if (std::memcmp(&a[i], &b[i], 4) != 0) ++n, first = i;
  if (n == 0) return "equal";
  char values[64];
  std::snprintf(values, sizeof values, "%.9g vs %.9g", a[first], b[first]);
  return std::to_string(n) + " of " + std::to_string(a.size()) + " floats differ, first at " + std::to_string(first) +
         ": " + values;
}

// Runs `total` steps straight, and `split` steps + save + load into a new trainer + the rest; the
// parameters (and optimiser state and position) must be identical bit for bit.
void check_resume(const std::string& spec, int threads, int batch, int total, int split,
                  const std::string& optimizer = "adam") {
  const Split train = synthetic_split();
  auto straight = make_trainer(spec, threads, batch, optimizer);
  for (int i = 0; i < total; ++i) straight->step(train);

  TempDir dir;
  const std::string path = (dir.path / "mid.podlab").string();
  {
    auto first = make_trainer(spec, threads, batch, optimizer);
    for (int i = 0; i < split; ++i) first->step(train);
    REQUIRE(save_checkpoint(path, capture_checkpoint(*first, "synthetic", Shape{8, 8, 1}, 10)).ok());
  }
  auto ck = load_checkpoint(path);
  REQUIRE(ck.ok());
  auto resumed = make_trainer(spec, threads, batch, optimizer);
  REQUIRE(restore_checkpoint(*ck, *resumed).ok());
  REQUIRE(resumed->position().step == split);
  for (int i = split; i < total; ++i) resumed->step(train);

  // Double parentheses: on failure Catch would otherwise print both vectors (300k floats for cnn).
  INFO("parameters: " << difference(straight->parameters(), resumed->parameters()));
  INFO("optimizer slots: " << difference(straight->optimizer().slots(), resumed->optimizer().slots()));
  REQUIRE((straight->parameters() == resumed->parameters()));
  REQUIRE((straight->optimizer().slots() == resumed->optimizer().slots()));
  REQUIRE(straight->optimizer().steps() == resumed->optimizer().steps());
  REQUIRE(straight->position().step == resumed->position().step);
  REQUIRE(straight->position().epoch == resumed->position().epoch);
  REQUIRE(straight->position().batch_in_epoch == resumed->position().batch_in_epoch);
}

}  // namespace

TEST_CASE("checkpoint round trip keeps every field", "[checkpoint]") {
  TempDir dir;
  const Checkpoint c = small_checkpoint();
  const std::string path = (dir.path / "a.podlab").string();
  REQUIRE(save_checkpoint(path, c).ok());
  auto loaded = load_checkpoint(path);
  REQUIRE(loaded.ok());
  require_same(c, *loaded);
  // The documented layout: magic, version, and the offsets the tests below poke at.
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.substr(0, 8) == "PODLABCK");
  REQUIRE(bytes.substr(8, 4) == std::string("\x01\x00\x00\x00", 4));
  REQUIRE(bytes.substr(kModelSpecLength + 4, 5) == "mlp:3");
  REQUIRE(bytes.substr(kVariableCount, 4) == std::string("\x02\x00\x00\x00", 4));
  REQUIRE(bytes.substr(kParameterCount, 8) == std::string("\x09\0\0\0\0\0\0\0", 8));
  REQUIRE(bytes.size() == kParameterCount + 8 + 9 * 4 + 8 + 18 * 4 + 4);
  // No temp file is left behind.
  REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("checkpoint with a flipped byte is reported as corrupt", "[checkpoint]") {
  TempDir dir;
  const std::string good = saved_bytes(dir);
  for (size_t at : {good.size() / 2, kParameterCount + 8 + 5, good.size() - 6, good.size() - 2, size_t{20}}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    const Status st = load_error(dir, bad);
    INFO("flipped byte " << at << ": " << st.message());
    CHECK_THAT(st.message(), Catch::Contains("corrupt") && Catch::Contains("checksum"));
  }
}

TEST_CASE("truncated checkpoints fail cleanly", "[checkpoint]") {
  TempDir dir;
  const std::string good = saved_bytes(dir);
  for (size_t len : {size_t{0}, size_t{4}, size_t{8}, size_t{12}, size_t{15}, size_t{16}, size_t{40},
                     good.size() / 2, good.size() - 5, good.size() - 4, good.size() - 1}) {
    const Status st = load_error(dir, good.substr(0, len));
    INFO("length " << len << ": " << st.message());
    CHECK_THAT(st.message(), Catch::Contains("truncated"));
  }
}

TEST_CASE("checkpoint with the wrong magic is not a podlab checkpoint", "[checkpoint]") {
  TempDir dir;
  std::string bad = saved_bytes(dir);
  bad[0] = 'X';
  CHECK_THAT(load_error(dir, bad).message(), Catch::Contains("not a podlab checkpoint"));
  CHECK_THAT(load_error(dir, "model: mlp\nstep: 3\n").message(), Catch::Contains("not a podlab checkpoint"));
  CHECK_THAT(load_error(dir, "PODL4").message(), Catch::Contains("not a podlab checkpoint"));
}

TEST_CASE("checkpoint from a future format version is refused by version", "[checkpoint]") {
  TempDir dir;
  std::string bad = saved_bytes(dir);
  put_u32(bad, 8, 2);
  fix_crc(bad);
  const Status st = load_error(dir, bad);
  CHECK_THAT(st.message(), Catch::Contains("version 2") && Catch::Contains("version 1"));
}

TEST_CASE("implausible counts with a valid checksum are caught before allocating", "[checkpoint]") {
  TempDir dir;
  const std::string good = saved_bytes(dir);
  struct Case {
    size_t at;
    uint64_t value;
    bool wide;
  };
  for (const Case& c : {Case{kModelSpecLength, 0xFFFFFFF0u, false}, Case{kVariableCount, 0xFFFFFFFFu, false},
                        Case{kVariableCount, 1000, false}, Case{kParameterCount, uint64_t{1} << 62, true},
                        Case{kParameterCount, 0xFFFFFFFFFFFFFFFFull, true}, Case{kSecondRows, 0x7FFFFFFF, false},
                        Case{kSecondRows, 0x80000000u, false}}) {
    std::string bad = good;
    if (c.wide) put_u64(bad, c.at, c.value);
    else put_u32(bad, c.at, static_cast<uint32_t>(c.value));
    fix_crc(bad);
    const Status st = load_error(dir, bad);
    INFO("offset " << c.at << " = " << c.value << ": " << st.message());
    CHECK_THAT(st.message(), Catch::Contains("implausible"));
    CHECK_THAT(st.message(), !Catch::Contains("corrupt"));
  }
}

TEST_CASE("checkpoint whose parameter count differs from the variable sizes is refused", "[checkpoint]") {
  TempDir dir;
  std::string bad = saved_bytes(dir);
  put_u32(bad, kSecondRows, 2);  // layer1/biases 2x3: the variables now need 12 floats, the file holds 9
  fix_crc(bad);
  CHECK_THAT(load_error(dir, bad).message(),
             Catch::Contains("parameter count 9") && Catch::Contains("sum of the variable sizes 12"));

  Checkpoint c = small_checkpoint();
  c.parameters.pop_back();
  const Status st = save_checkpoint((dir.path / "x.podlab").string(), c);
  REQUIRE_FALSE(st.ok());
  REQUIRE_FALSE(fs::exists(dir.path / "x.podlab"));
}

TEST_CASE("restore explains a mismatched model, optimizer or batch", "[checkpoint]") {
  const Split train = synthetic_split();
  auto source = make_trainer("mlp:32", 1);
  source->step(train);
  const Checkpoint ck = capture_checkpoint(*source, "synthetic", Shape{8, 8, 1}, 10);
  // Stored packed: the trainer's alignment padding is not part of the checkpoint.
  REQUIRE(ck.parameters.size() == source->layout().parameter_count());
  REQUIRE(ck.optimizer_slots.size() == 2 * ck.parameters.size());
  REQUIRE(ck.variables[1].offset == ck.variables[0].size());

  auto other = make_trainer("mlp:16", 1);
  const FloatBuffer before = other->parameters();
  Status st = restore_checkpoint(ck, *other);
  REQUIRE(st.code() == StatusCode::kData);
  CHECK(st.message() == "checkpoint was saved for model 'mlp:32' but --model is 'mlp:16'; "
                        "pass --model mlp:32 or start without --resume");
  REQUIRE(other->parameters() == before);
  REQUIRE(other->position().step == 0);

  st = restore_checkpoint(ck, *make_trainer("mlp:32", 1, 16, "momentum"));
  CHECK_THAT(st.message(), Catch::Contains("optimizer 'adam'") && Catch::Contains("--optimizer adam"));
  st = restore_checkpoint(ck, *make_trainer("mlp:32", 1, 8));
  CHECK_THAT(st.message(), Catch::Contains("batch size 16") && Catch::Contains("--batch 16"));

  Checkpoint renamed = ck;
  renamed.variables[1].name = "layer1/bias";
  st = restore_checkpoint(renamed, *make_trainer("mlp:32", 1));
  CHECK_THAT(st.message(), Catch::Contains("layer1/bias'"));
}

TEST_CASE("checkpoint directory keeps the newest files and points latest at the newest", "[checkpoint]") {
  TempDir dir;
  const std::string d = (dir.path / "a" / "b").string();  // created on demand, like mkdir -p
  REQUIRE_FALSE(latest_checkpoint(d).ok());
  Checkpoint c = small_checkpoint();
  for (int64_t step : {10, 20, 30, 40, 50}) {
    c.position.step = step;
    auto path = save_checkpoint_in_dir(d, c, 3);
    REQUIRE(path.ok());
    REQUIRE(*path == (fs::path(d) / ("ckpt-" + std::to_string(step) + ".podlab")).string());
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{"ckpt-30.podlab", "ckpt-40.podlab", "ckpt-50.podlab", "latest"});
  REQUIRE(read_bytes(fs::path(d) / "latest") == "ckpt-50.podlab\n");
  auto latest = latest_checkpoint(d);
  REQUIRE(latest.ok());
  REQUIRE(*latest == (fs::path(d) / "ckpt-50.podlab").string());
  auto loaded = load_checkpoint(*latest);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->position.step == 50);

  // A run resumed from an older checkpoint: the file just written survives and is `latest`.
  c.position.step = 35;
  REQUIRE(save_checkpoint_in_dir(d, c, 2).ok());
  REQUIRE(fs::exists(fs::path(d) / "ckpt-35.podlab"));
  REQUIRE(fs::exists(fs::path(d) / "ckpt-50.podlab"));
  REQUIRE_FALSE(fs::exists(fs::path(d) / "ckpt-40.podlab"));
  REQUIRE(*latest_checkpoint(d) == (fs::path(d) / "ckpt-35.podlab").string());

  // Without `latest` (or with a stale one), the highest step wins.
  write_bytes(fs::path(d) / "latest", "ckpt-99.podlab\n");
  REQUIRE(*latest_checkpoint(d) == (fs::path(d) / "ckpt-50.podlab").string());
  fs::remove(fs::path(d) / "latest");
  REQUIRE(*latest_checkpoint(d) == (fs::path(d) / "ckpt-50.podlab").string());

  TempDir empty;
  auto none = latest_checkpoint(empty.path.string());
  REQUIRE_FALSE(none.ok());
  REQUIRE(none.status().code() == StatusCode::kData);
}

TEST_CASE("saving into an unwritable place gives an error naming the path", "[checkpoint]") {
  TempDir dir;
  write_bytes(dir.path / "file", "not a directory");
  const std::string under_file = (dir.path / "file" / "ckpts").string();
  auto r = save_checkpoint_in_dir(under_file, small_checkpoint());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kIo);
  CHECK_THAT(r.status().message(), Catch::Contains(under_file));
  const Status st = save_checkpoint((dir.path / "file" / "x.podlab").string(), small_checkpoint());
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == StatusCode::kIo);

  if (geteuid() != 0) {  // root ignores directory permissions
    const fs::path ro = dir.path / "ro";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    auto w = save_checkpoint_in_dir(ro.string(), small_checkpoint());
    fs::permissions(ro, fs::perms::owner_all);
    REQUIRE_FALSE(w.ok());
    CHECK(w.status().code() == StatusCode::kIo);
    CHECK_THAT(w.status().message(), Catch::Contains(ro.string()));
    CHECK(fs::is_empty(ro));
  }
}

TEST_CASE("resuming from a checkpoint continues bit for bit (mlp, adam)", "[checkpoint]") {
  const int threads = GENERATE(1, 2);
  const int split = GENERATE(13, 7);  // 13 = one epoch of 200 / 16; 7 = mid-epoch
  INFO("threads " << threads << ", split after " << split << " steps");
  check_resume("mlp:32", threads, 16, 30, split);
}

TEST_CASE("resuming from a checkpoint continues bit for bit (mlp, sgd and momentum)", "[checkpoint]") {
  const std::string optimizer = GENERATE(as<std::string>(), "sgd", "momentum");
  INFO(optimizer);
  check_resume("mlp:32,16:tanh", 2, 16, 20, 11, optimizer);
}

TEST_CASE("resuming from a checkpoint continues bit for bit (cnn with dropout)", "[checkpoint]") {
  const int threads = GENERATE(1, 2);
  INFO("threads " << threads);
  check_resume("cnn", threads, 8, 6, 3);
}

TEST_CASE("resuming from a checkpoint continues bit for bit (lstm)", "[checkpoint]") {
  const int threads = GENERATE(1, 2);
  INFO("threads " << threads);
  check_resume("lstm:16", threads, 16, 20, 9);
}
