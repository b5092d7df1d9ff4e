// Reading and writing the set-up file. Parsing is strict on purpose: a shared file with a typo should
// fail loudly with the line to fix, not start the class from a silently different state.
#include "gui/setup_file.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cluster/context.h"
#include "engine/data/dataset.h"
#include "engine/model_spec.h"
#include "engine/optim/optimizer.h"
#include "engine/train_defaults.h"

namespace podlab::gui {
namespace {

constexpr int kFormat = 1;
constexpr const char* kKeys =
    "format, dataset, model, optimizer, lr, batch, seed, limit_train, speed_limit, cluster_ps, "
    "cluster_workers, cluster_backup, cluster_mode, cluster_placement, language";

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool parse_int(const std::string& v, long long lo, long long hi, long long* out) {
  if (v.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (errno || *end || x < lo || x > hi) return false;
  *out = x;
  return true;
}

bool parse_double(const std::string& v, double lo, double hi, double* out) {
  if (v.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double x = std::strtod(v.c_str(), &end);
  if (errno || *end || !(x >= lo && x <= hi)) return false;
  *out = x;
  return true;
}

}  // namespace

bool GuiSetup::operator==(const GuiSetup& o) const {
  return dataset == o.dataset && model == o.model && optimizer == o.optimizer && lr == o.lr &&
         batch == o.batch && seed == o.seed && limit_train == o.limit_train && speed_limit == o.speed_limit &&
         cluster_ps == o.cluster_ps && cluster_workers == o.cluster_workers && cluster_backup == o.cluster_backup && cluster_mode == o.cluster_mode &&
         cluster_placement == o.cluster_placement && language == o.language;
}

Status validate_setup(const GuiSetup& s) {
  if (!s.dataset.empty() && !find_dataset_info(s.dataset))
    return Status::Config("dataset: unknown dataset '" + s.dataset + "' (use mnist or fashion-mnist)");
  auto spec = ModelSpec::parse(s.model);
  if (!spec.ok()) return Status::Config("model: " + spec.status().message());
  if (!OptimizerConfig::validate_name(s.optimizer).ok())
    return Status::Config("optimizer: '" + s.optimizer + "' is not one of sgd, momentum, adam");
  if (!(s.lr > 0 && s.lr <= 10)) return Status::Config("lr: must be in (0, 10], got " + std::to_string(s.lr));
  if (s.batch < 1 || s.batch > 4096) return Status::Config("batch: must be 1..4096, got " + std::to_string(s.batch));
  if (s.limit_train < 0) return Status::Config("limit_train: must be 0 (all) or a positive count");
  if (!(s.speed_limit >= 0 && s.speed_limit <= 1e6))
    return Status::Config("speed_limit: must be 0 (unlimited) or steps per second up to 1e6");
  if (s.cluster_ps < 1 || s.cluster_ps > 8) return Status::Config("cluster_ps: must be 1..8");
  if (s.cluster_workers < 1 || s.cluster_workers > 16) return Status::Config("cluster_workers: must be 1..16");
  if (s.cluster_backup < 0 || s.cluster_backup >= s.cluster_workers)
    return Status::Config("cluster_backup: must be 0..cluster_workers-1 (" + std::to_string(s.cluster_workers - 1) + ")");
  auto mode = SyncMode::parse(s.cluster_mode);
  if (!mode.ok()) return Status::Config("cluster_mode: '" + s.cluster_mode + "' is not async, sync or ssp:K");
  if (s.cluster_placement != "round-robin" && s.cluster_placement != "balanced")
    return Status::Config("cluster_placement: '" + s.cluster_placement + "' is not round-robin or balanced");
  if (s.language != "en" && s.language != "zh")
    return Status::Config("language: '" + s.language + "' is not en or zh");
  return Status::Ok();
}

std::string setup_to_text(const GuiSetup& s) {
  std::ostringstream o;
  char lr[32];
  std::snprintf(lr, sizeof lr, "%.9g", s.lr);
  char speed[32];
  std::snprintf(speed, sizeof speed, "%.9g", s.speed_limit);
  o << "# podlab gui set-up: load with `podlab gui --setup FILE` or File > Load\n"
    << "format = " << kFormat << "\n"
    << "dataset = " << s.dataset << "\n"
    << "model = " << s.model << "\n"
    << "optimizer = " << s.optimizer << "\n"
    << "lr = " << lr << "\n"
    << "batch = " << s.batch << "\n"
    << "seed = " << s.seed << "\n"
    << "limit_train = " << s.limit_train << "\n"
    << "speed_limit = " << speed << "\n"
    << "cluster_ps = " << s.cluster_ps << "\n"
    << "cluster_workers = " << s.cluster_workers << "\n"
    << "cluster_backup = " << s.cluster_backup << "\n"
    << "cluster_mode = " << s.cluster_mode << "\n"
    << "cluster_placement = " << s.cluster_placement << "\n"
    << "language = " << s.language << "\n";
  return o.str();
}

Result<GuiSetup> setup_from_text(const std::string& text, const std::string& source) {
  GuiSetup s;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  bool saw_format = false;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = source + ":" + std::to_string(n) + ": ";
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const size_t eq = t.find('=');
    if (eq == std::string::npos) return Status::Config(where + "expected 'key = value', got '" + t + "'");
    const std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    long long i = 0;
    double d = 0;
    auto bad = [&](const std::string& want) {
      return Status::Config(where + key + ": expected " + want + ", got '" + value + "'");
    };
    if (key == "format") {
      if (!parse_int(value, 1, 1000, &i)) return bad("a format number");
      if (i != kFormat)
        return Status::Config(where + "format " + value + " is newer than this podlab understands (" +
                              std::to_string(kFormat) + "); update podlab");
      saw_format = true;
    } else if (key == "dataset") {
      s.dataset = value;
    } else if (key == "model") {
      s.model = value;
    } else if (key == "optimizer") {
      s.optimizer = value;
    } else if (key == "lr") {
      if (!parse_double(value, 1e-12, 10, &d)) return bad("a learning rate in (0, 10]");
      s.lr = static_cast<float>(d);
    } else if (key == "batch") {
      if (!parse_int(value, 1, 4096, &i)) return bad("a batch size 1..4096");
      s.batch = static_cast<int>(i);
    } else if (key == "seed") {
      if (!parse_int(value, 0, INT64_MAX, &i)) return bad("a non-negative integer seed");
      s.seed = static_cast<uint64_t>(i);
    } else if (key == "limit_train") {
      if (!parse_int(value, 0, 100000000, &i)) return bad("0 (all) or a sample count");
      s.limit_train = static_cast<int>(i);
    } else if (key == "speed_limit") {
      if (!parse_double(value, 0, 1e6, &d)) return bad("0 (unlimited) or steps per second");
      s.speed_limit = d;
    } else if (key == "cluster_ps") {
      if (!parse_int(value, 1, 8, &i)) return bad("a ps count 1..8");
      s.cluster_ps = static_cast<int>(i);
    } else if (key == "cluster_workers") {
      if (!parse_int(value, 1, 16, &i)) return bad("a worker count 1..16");
      s.cluster_workers = static_cast<int>(i);
    } else if (key == "cluster_backup") {
      if (!parse_int(value, 0, 15, &i)) return bad("a backup worker count 0..15");
      s.cluster_backup = static_cast<int>(i);
    } else if (key == "cluster_mode") {
      s.cluster_mode = value;
    } else if (key == "cluster_placement") {
      s.cluster_placement = value;
    } else if (key == "language") {
      s.language = value;
    } else {
      return Status::Config(where + "unknown key '" + key + "' (known: " + kKeys + ")");
    }
  }
  if (!saw_format)
    return Status::Config(source + ": not a podlab gui set-up file (no 'format = " + std::to_string(kFormat) +
                          "' line); save one from the GUI with File > Save");
  Status st = validate_setup(s);
  if (!st.ok()) return st.With(source);
  return s;
}

Status save_setup(const GuiSetup& s, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Io("cannot write " + tmp + ": check that the directory exists and is writable");
    out << setup_to_text(s);
    out.flush();
    if (!out) return Status::Io("writing " + tmp + " failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Io("cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

Result<GuiSetup> load_setup(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot read set-up file " + path + ": no such file or not readable");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) return Status::Config(path + ": too large for a set-up file (over 1 MiB)");
  return setup_from_text(text.str(), path);
}

void apply_model_defaults(GuiSetup& s) {
  auto spec = ModelSpec::parse(s.model);
  if (!spec.ok()) return;
  const TrainDefaults d = train_defaults(spec->kind);
  s.optimizer = d.optimizer;
  s.lr = d.lr;
  s.batch = d.batch;
}

}  // namespace podlab::gui
