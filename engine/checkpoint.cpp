// Checkpoints: the byte format, validation on load, restore checks, atomic writes and checkpoint
// directories. Sections: [format] the layout, [encode] [decode] bytes <-> Checkpoint, [trainer]
// capture and restore, [files] atomic save and load, [dir] ckpt-<step>.podlab files and `latest`.
//
// [format] Checkpoint file, format version 1. Integers are little-endian; f32 is the IEEE-754
// binary32 bit pattern, little-endian; str is a u32 byte length followed by that many bytes (no NUL).
//
//   offset  bytes    field
//   0       8        magic "PODLABCK" (ASCII)
//   8       4        u32 format version = 1
//   12      str      model spec, ModelSpec::to_string() (at most 4096 bytes)
//           str      dataset name (at most 4096 bytes)
//           4 x 4    i32 input height, width, channels; i32 classes
//           8        u64 seed
//           4 x 2    i32 batch size; i32 thread count
//           str      optimizer name (at most 64 bytes)
//           4 x 5    f32 lr, momentum, beta1, beta2, epsilon
//           4        u32 lr schedule kind: 0 constant, 1 exponential, 2 step
//           4        f32 lr schedule rate
//           8        i64 lr schedule every
//           8        i64 position: step
//           4 x 2    i32 position: epoch; batch in epoch
//           8        i64 optimizer steps
//           4        u32 V, the number of variables
//           V x      { str name (at most 4096 bytes); i32 rows; i32 cols; u64 offset in floats into the
//                    parameters below: 0 for the first, then each the previous offset + rows * cols }
//           8        u64 P, the number of parameters (= the sum of rows * cols)
//           4 x P    f32 parameters: each variable row-major, in layout order, packed (the trainer's
//                    64-byte alignment padding is not stored)
//           8        u64 S, the number of optimizer slot values (a multiple of P: sgd 0, momentum P,
//                    adam 2P with all first moments before all second moments)
//           4 x S    f32 optimizer slots
//   end-4   4        u32 CRC-32C (Castagnoli, not masked) of every byte before it
//
// Why this order of checks on load: magic and version first (a future version may move the CRC);
// then the structure is parsed with bounds checks on every field and every count checked against the
// bytes left before allocating; then the CRC. A structural error is reported together with the CRC
// result, so a damaged file says "corrupt" while a well-checksummed but inconsistent one says
// "invalid" (a writer bug, not bit rot).
#include "engine/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/binary_io.h"
#include "engine/log/crc32c.h"

namespace podlab {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'P', 'O', 'D', 'L', 'A', 'B', 'C', 'K'};
constexpr uint32_t kVersion = 1;
constexpr size_t kMaxText = 4096, kMaxOptimizerName = 64;
constexpr uint32_t kMaxVariables = 1u << 20;
constexpr size_t kMinVariableBytes = 4 + 4 + 4 + 8;  // empty name, rows, cols, offset

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string shape_str(int rows, int cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

// Semantic checks shared by save (so we never write a file we would refuse) and load. "" when fine.
std::string check_consistent(const Checkpoint& c) {
  if (c.model_spec.size() > kMaxText || c.dataset.size() > kMaxText || c.optimizer.name.size() > kMaxOptimizerName)
    return "model spec, dataset or optimizer name too long";
  if (c.input_h < 1 || c.input_w < 1 || c.input_c < 1 || c.classes < 1)
    return "input shape " + std::to_string(c.input_h) + "x" + std::to_string(c.input_w) + "x" +
           std::to_string(c.input_c) + " with " + std::to_string(c.classes) + " classes is not valid";
  if (c.batch < 1 || c.threads < 1)
    return "batch " + std::to_string(c.batch) + " / threads " + std::to_string(c.threads) + " must be >= 1";
  if (c.position.step < 0 || c.position.epoch < 0 || c.position.batch_in_epoch < 0 || c.optimizer_steps < 0)
    return "negative training position";
  if (c.optimizer.schedule.every < 1) return "lr schedule period must be >= 1";
  uint64_t offset = 0;
  for (size_t i = 0; i < c.variables.size(); ++i) {
    const ParamInfo& v = c.variables[i];
    if (v.name.size() > kMaxText) return "variable " + std::to_string(i) + " has a name longer than 4096 bytes";
    if (v.rows < 1 || v.cols < 1)
      return "variable " + std::to_string(i) + " '" + v.name + "' has shape " + shape_str(v.rows, v.cols);
    if (v.offset != offset)
      return "variable " + std::to_string(i) + " '" + v.name + "' is at offset " + std::to_string(v.offset) +
             " but the variables before it end at " + std::to_string(offset);
    offset += v.size();
  }
  if (offset != c.parameters.size())
    return "the parameter count " + std::to_string(c.parameters.size()) +
           " does not equal the sum of the variable sizes " + std::to_string(offset);
  const size_t p = c.parameters.size(), s = c.optimizer_slots.size();
  if (p == 0 ? s != 0 : s % p != 0)
    return "the optimizer slot count " + std::to_string(s) + " is not a multiple of the parameter count " +
           std::to_string(p);
  return "";
}

// [encode]
std::string encode(const Checkpoint& c) {
  ByteWriter w;
  w.raw(kMagic, sizeof kMagic);
  w.u32(kVersion);
  w.str(c.model_spec);
  w.str(c.dataset);
  for (int v : {c.input_h, c.input_w, c.input_c, c.classes}) w.i32(v);
  w.u64(c.seed);
  w.i32(c.batch);
  w.i32(c.threads);
  const OptimizerConfig& o = c.optimizer;
  w.str(o.name);
  for (float v : {o.lr, o.momentum, o.beta1, o.beta2, o.epsilon}) w.f32(v);
  w.u32(static_cast<uint32_t>(o.schedule.kind));
  w.f32(o.schedule.rate);
  w.i64(o.schedule.every);
  w.i64(c.position.step);
  w.i32(c.position.epoch);
  w.i32(c.position.batch_in_epoch);
  w.i64(c.optimizer_steps);
  w.u32(static_cast<uint32_t>(c.variables.size()));
  for (const ParamInfo& v : c.variables) {
    w.str(v.name);
    w.i32(v.rows);
    w.i32(v.cols);
    w.u64(v.offset);
  }
  w.u64(c.parameters.size());
  w.f32_array(c.parameters);
  w.u64(c.optimizer_slots.size());
  w.f32_array(c.optimizer_slots);
  w.u32(crc32c(w.bytes().data(), w.size()));
  return std::move(w.bytes());
}

// [decode] Parses the body (everything before the CRC), magic and version already checked. On failure
// returns false with the reason in r.error().
bool decode_body(ByteReader& r, Checkpoint* c) {
  r.skip("magic and format version", sizeof kMagic + 4);
  r.str("model spec length", kMaxText, &c->model_spec);
  r.str("dataset name length", kMaxText, &c->dataset);
  for (int* v : {&c->input_h, &c->input_w, &c->input_c, &c->classes}) r.i32("input shape", v);
  r.u64("seed", &c->seed);
  r.i32("batch size", &c->batch);
  r.i32("thread count", &c->threads);
  OptimizerConfig& o = c->optimizer;
  r.str("optimizer name length", kMaxOptimizerName, &o.name);
  for (float* v : {&o.lr, &o.momentum, &o.beta1, &o.beta2, &o.epsilon}) r.f32("optimizer settings", v);
  uint32_t kind = 0;
  r.u32("lr schedule kind", &kind);
  r.f32("lr schedule rate", &o.schedule.rate);
  r.i64("lr schedule period", &o.schedule.every);
  r.i64("step", &c->position.step);
  r.i32("epoch", &c->position.epoch);
  r.i32("batch in epoch", &c->position.batch_in_epoch);
  r.i64("optimizer steps", &c->optimizer_steps);
  if (!r.ok()) return false;
  if (kind > static_cast<uint32_t>(LrSchedule::Kind::kStep))
    return r.fail("unknown lr schedule kind " + std::to_string(kind));
  o.schedule.kind = static_cast<LrSchedule::Kind>(kind);
  if (Status st = OptimizerConfig::validate_name(o.name); !st.ok()) return r.fail(st.message());

  uint32_t nvars = 0;
  if (!r.u32("variable count", &nvars) || !r.check_count("variable count", nvars, kMinVariableBytes, kMaxVariables))
    return false;
  c->variables.resize(nvars);
  uint64_t floats = 0;
  for (ParamInfo& v : c->variables) {
    uint64_t offset = 0;
    r.str("variable name length", kMaxText, &v.name);
    r.i32("variable rows", &v.rows);
    r.i32("variable cols", &v.cols);
    if (!r.u64("variable offset", &offset)) return false;
    v.offset = static_cast<size_t>(offset);
    if (v.rows < 1 || v.cols < 1)
      return r.fail("variable '" + v.name + "' has implausible shape " + shape_str(v.rows, v.cols));
    floats += v.size();  // cannot overflow: bounded by the check below before the next addition
    if (floats > r.remaining() / 4)
      return r.fail("implausible variable '" + v.name + "' (" + shape_str(v.rows, v.cols) +
                    "): the variables need more floats than the " + std::to_string(r.remaining()) +
                    " bytes left in the file hold");
  }
  uint64_t count = 0;
  if (!r.u64("parameter count", &count) || !r.f32_array("parameter count", count, &c->parameters)) return false;
  if (!r.u64("optimizer slot count", &count) || !r.f32_array("optimizer slot count", count, &c->optimizer_slots))
    return false;
  if (r.remaining() != 0)
    return r.fail(std::to_string(r.remaining()) + " unexpected bytes after the optimizer slots");
  const std::string why = check_consistent(*c);
  return why.empty() || r.fail(why);
}

// [files] Writes `bytes` to `path` so that a crash leaves the old file or the new one: a temp file in
// the same directory (rename is atomic only within one filesystem), fflush + fsync, rename, then an
// fsync of the directory so the rename itself is durable. The temp file is removed on any failure.
Status write_file_atomically(const std::string& path, const std::string& bytes, const char* what) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& step, int err) {
    std::remove(tmp.c_str());
    return Status::Io(std::string("cannot write ") + what + " '" + path + "': " + step + " (" + std::strerror(err) +
                      ")");
  };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return fail("cannot create '" + tmp + "'", errno);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                       ::fsync(::fileno(f)) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !written) return fail("writing '" + tmp + "' failed", written ? errno : err);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename '" + tmp + "' into place", errno);
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // a directory we cannot open for reading is still written; fsync is then best effort
    const int rc = ::fsync(dfd), derr = errno;
    ::close(dfd);
    if (rc != 0 && derr != EINVAL && derr != ENOTSUP)  // some filesystems cannot fsync directories
      return Status::Io(std::string("cannot write ") + what + " '" + path + "': fsync of its directory failed (" +
                        std::strerror(derr) + ")");
  }
  return Status::Ok();
}

}  // namespace

// [trainer] The trainer's buffers pad every variable to a 64-byte boundary (params.h); checkpoints
// store the variables packed instead, so files do not depend on that in-memory policy. Optimiser slots
// are k blocks of layout().total() floats in memory (one block per slot kind, as optimizer.cpp keeps
// them) and k blocks of P packed floats in the file. The resume tests catch a change to that layout.
namespace {

void pack(const ParamLayout& layout, const float* mem, float* packed) {
  for (const ParamInfo& v : layout.params()) packed = std::copy_n(mem + v.offset, v.size(), packed);
}

void unpack(const ParamLayout& layout, const float* packed, float* mem) {
  for (const ParamInfo& v : layout.params()) {
    std::copy_n(packed, v.size(), mem + v.offset);
    packed += v.size();
  }
}

}  // namespace

Checkpoint capture_checkpoint(Trainer& trainer, const std::string& dataset, Shape input, int classes) {
  Checkpoint c;
  const TrainConfig& cfg = trainer.config();
  c.model_spec = cfg.model.to_string();
  c.dataset = dataset;
  c.input_h = input.h;
  c.input_w = input.w;
  c.input_c = input.c;
  c.classes = classes;
  c.seed = cfg.seed;
  c.batch = cfg.batch;
  c.threads = cfg.threads;
  c.optimizer = trainer.optimizer().config();
  c.position = trainer.position();
  c.optimizer_steps = trainer.optimizer().steps();
  const ParamLayout& layout = trainer.layout();
  size_t p = 0;
  for (const ParamInfo& v : layout.params()) {
    ParamInfo packed;
    packed.name = v.name;
    packed.rows = v.rows;
    packed.cols = v.cols;
    packed.offset = p;
    p += v.size();
    c.variables.push_back(packed);
  }
  c.parameters.resize(p);
  pack(layout, trainer.parameters().data(), c.parameters.data());
  const std::vector<float>& slots = trainer.optimizer().slots();
  const size_t total = layout.total(), blocks = total ? slots.size() / total : 0;
  c.optimizer_slots.resize(blocks * p);
  for (size_t b = 0; b < blocks; ++b) pack(layout, slots.data() + b * total, c.optimizer_slots.data() + b * p);
  return c;
}

// Every check runs before anything is copied, so a failed restore leaves the trainer untouched.
// Seed and thread count may differ (the run continues, just not bit-for-bit); batch size may not,
// because the position in the epoch is counted in batches.
Status restore_checkpoint(const Checkpoint& c, Trainer& trainer, const std::string& fresh_start) {
  const std::string hint = " or " + fresh_start;
  const std::string other_version = " (saved by a different podlab version?); " + fresh_start;
  if (const std::string why = check_consistent(c); !why.empty())
    return Status::Data("checkpoint is inconsistent: " + why);
  const std::string model = trainer.config().model.to_string();
  if (c.model_spec != model)
    return Status::Data("checkpoint was saved for model '" + c.model_spec + "' but --model is '" + model +
                        "'; pass --model " + c.model_spec + hint);
  const Network& net = trainer.network();
  const Shape in = net.input_shape();
  if (in != Shape{c.input_h, c.input_w, c.input_c} || net.classes() != c.classes) {
    auto desc = [](int h, int w, int ch, int k) {
      return std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(ch) + " images with " +
             std::to_string(k) + " classes";
    };
    return Status::Data("checkpoint was saved for " + desc(c.input_h, c.input_w, c.input_c, c.classes) +
                        " (dataset '" + c.dataset + "') but the data has " + desc(in.h, in.w, in.c, net.classes()) +
                        "; pass --dataset " + c.dataset + hint);
  }
  if (c.batch != trainer.config().batch)
    return Status::Data("checkpoint was saved with batch size " + std::to_string(c.batch) + " but --batch is " +
                        std::to_string(trainer.config().batch) + "; pass --batch " + std::to_string(c.batch) + hint);
  const ParamLayout& layout = trainer.layout();
  const std::vector<ParamInfo>& vars = layout.params();
  if (c.variables.size() != vars.size())
    return Status::Data("checkpoint has " + std::to_string(c.variables.size()) + " variables but model '" + model +
                        "' has " + std::to_string(vars.size()) + other_version);
  for (size_t i = 0; i < vars.size(); ++i) {
    const ParamInfo &a = c.variables[i], &b = vars[i];
    if (a.name != b.name || a.rows != b.rows || a.cols != b.cols)
      return Status::Data("checkpoint variable " + std::to_string(i) + " is '" + a.name + "' " +
                          shape_str(a.rows, a.cols) + " but model '" + model + "' has '" + b.name + "' " +
                          shape_str(b.rows, b.cols) + other_version);
  }
  const size_t p = layout.parameter_count(), total = layout.total();
  if (c.parameters.size() != p)
    return Status::Data("checkpoint holds " + std::to_string(c.parameters.size()) + " parameters but model '" +
                        model + "' has " + std::to_string(p));
  Optimizer& opt = trainer.optimizer();
  if (c.optimizer.name != opt.config().name)
    return Status::Data("checkpoint was saved with optimizer '" + c.optimizer.name + "' but --optimizer is '" +
                        opt.config().name + "'; pass --optimizer " + c.optimizer.name + hint);
  const size_t blocks = total ? opt.slots().size() / total : 0;
  if (blocks * total != opt.slots().size() || c.optimizer_slots.size() != blocks * p)
    return Status::Data("checkpoint holds " + std::to_string(c.optimizer_slots.size()) +
                        " optimizer slot values but '" + opt.config().name + "' needs " + std::to_string(blocks * p));
  // Fill (padding becomes zero again) and copy, never reassign: the replicas hold the buffer's address.
  std::fill(trainer.parameters().begin(), trainer.parameters().end(), 0.0f);
  unpack(layout, c.parameters.data(), trainer.parameters().data());
  std::fill(opt.slots().begin(), opt.slots().end(), 0.0f);
  for (size_t b = 0; b < blocks; ++b) unpack(layout, c.optimizer_slots.data() + b * p, opt.slots().data() + b * total);
  opt.set_steps(c.optimizer_steps);
  trainer.set_position(c.position);
  return Status::Ok();
}

Status save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  const std::string why = check_consistent(ckpt);
  if (!why.empty()) return Status::Internal("refusing to write checkpoint '" + path + "': " + why);
  return write_file_atomically(path, encode(ckpt), "checkpoint");
}

Result<Checkpoint> load_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::Io("cannot read checkpoint '" + path + "': it is a directory");
  // A device or pipe (/dev/zero, say) could be read for ever: only regular files are checkpoints.
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec))
    return Status::Io("cannot read checkpoint '" + path + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot read checkpoint '" + path + "': " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::Io("cannot read checkpoint '" + path + "': read error");
  const std::string where = "checkpoint '" + path + "'";
  const size_t n = bytes.size();
  if (n < sizeof kMagic && std::memcmp(bytes.data(), kMagic, n) == 0)
    return Status::Data(where + " is truncated (" + std::to_string(n) + " bytes)");
  if (n < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return Status::Data("'" + path + "' is not a podlab checkpoint (it does not start with \"PODLABCK\")");
  if (n < 16) return Status::Data(where + " is truncated (" + std::to_string(n) + " bytes)");
  ByteReader header(bytes.data() + 8, 4);
  uint32_t version = 0;
  (void)header.u32("format version", &version);
  if (version != kVersion)
    return Status::Data(where + " has format version " + std::to_string(version) + " but this podlab reads version " +
                        std::to_string(kVersion) + "; use the podlab that wrote it or start without --resume");
  ByteReader tail(bytes.data() + n - 4, 4);
  uint32_t stored = 0;
  (void)tail.u32("checksum", &stored);
  const uint32_t computed = crc32c(bytes.data(), n - 4);
  const std::string crc = "CRC-32C checksum mismatch: stored " + hex32(stored) + ", computed " + hex32(computed);
  Checkpoint c;
  ByteReader r(bytes.data(), n - 4);
  if (!decode_body(r, &c)) {
    if (stored != computed) return Status::Data(where + " is corrupt or truncated (" + crc + "): " + r.error());
    return Status::Data(where + " is invalid: " + r.error());
  }
  if (stored != computed)
    return Status::Data(where + " is corrupt (" + crc + "); use an older checkpoint or start without --resume");
  return c;
}

// [dir]
namespace {

// The step in a "ckpt-<step>.podlab" file name, or -1 when `name` is not one.
int64_t checkpoint_step(const std::string& name) {
  const std::string prefix = "ckpt-", suffix = ".podlab";
  if (name.size() <= prefix.size() + suffix.size() || name.size() > prefix.size() + suffix.size() + 18 ||
      name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  int64_t step = 0;
  for (size_t i = prefix.size(); i < name.size() - suffix.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

// (step, name) of every checkpoint file in `dir`, highest step first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const int64_t step = checkpoint_step(name);
    if (step >= 0 && it->is_regular_file(ec)) out.emplace_back(step, name);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

}  // namespace

// `keep` < 1 keeps every file. The file just written is always kept, even if older checkpoints have
// higher steps (a run resumed from an earlier checkpoint): it is the one `latest` names. Failing to
// remove an old file is not an error; the new checkpoint is already safe.
Result<std::string> save_checkpoint_in_dir(const std::string& dir, const Checkpoint& ckpt, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Io("cannot create checkpoint directory '" + dir + "': " + ec.message());
  const std::string name = "ckpt-" + std::to_string(ckpt.position.step) + ".podlab";
  const std::string path = (fs::path(dir) / name).string();
  PODLAB_RETURN_IF_ERROR(save_checkpoint(path, ckpt));
  PODLAB_RETURN_IF_ERROR(write_file_atomically((fs::path(dir) / "latest").string(), name + "\n", "checkpoint index"));
  if (keep >= 1) {
    int kept = 1;
    for (const auto& [step, other] : list_checkpoints(dir)) {
      if (other == name) continue;
      if (kept < keep) ++kept;
      else fs::remove(fs::path(dir) / other, ec);
    }
  }
  return path;
}

Status prepare_fresh_checkpoint_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec))
    return Status::Io("cannot create checkpoint directory '" + dir + "': " + (ec ? ec.message() : "a file of that name exists") +
                      "; choose another --checkpoint-dir");
  const auto files = list_checkpoints(dir);
  if (!files.empty())
    return Status::Config("checkpoint directory '" + dir + "' already holds checkpoints (the newest " + files.front().second +
                          ", step " + std::to_string(files.front().first) +
                          "): pass --resume to continue from it, or choose another --checkpoint-dir for a new run");
  return Status::Ok();
}

Result<std::string> latest_checkpoint(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::Data("checkpoint directory '" + dir + "' does not exist; start without --resume");
  std::string note;
  std::ifstream in(fs::path(dir) / "latest");
  std::string name;
  if (in && std::getline(in, name)) {
    while (!name.empty() && (name.back() == '\r' || name.back() == ' ' || name.back() == '\t')) name.pop_back();
    const bool plain = !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
    if (plain && fs::is_regular_file(fs::path(dir) / name, ec)) return (fs::path(dir) / name).string();
    note = " ('latest' names '" + name + "', which is missing)";
  }
  const auto files = list_checkpoints(dir);
  if (!files.empty()) return (fs::path(dir) / files.front().second).string();
  return Status::Data("no checkpoint in '" + dir + "'" + note +
                      ": expected ckpt-<step>.podlab files; start without --resume");
}

}  // namespace podlab
