// Key files for CURVE (see curve_keys.h). libzmq provides the key generation and Z85 helpers, so this
// file includes zmq.h too, but only for those functions; sockets stay in transport_zmq.cpp.
#include "cluster/curve_keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace podlab {
namespace {

const char kZ85Alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool is_z85_key(const std::string& k) {
  if (k.size() != kZ85KeyChars) return false;
  for (char c : k)
    if (c == '\0' || !std::strchr(kZ85Alphabet, c)) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, k.c_str()) != nullptr;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> read_text(const std::string& path, const std::string& hint) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::Config(path + ": " + std::strerror(errno) + " (" + hint + ")");
  if (!S_ISREG(st.st_mode)) return Status::Config(path + ": not a regular file (" + hint + ")");
  if (st.st_size > 1 << 20) return Status::Config(path + ": " + std::to_string(st.st_size) + " bytes, too big for a key file");
  std::ifstream in(path);
  if (!in) return Status::Config(path + ": cannot read it (" + std::string(std::strerror(errno)) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Calls fn(line, number) for each line of `text` that is not blank or a '#' comment, trimmed; stops
// at the first error fn returns. A Z85 key may itself begin with '#', which is why keys are quoted.
template <typename Fn>
Status for_each_line(const std::string& text, Fn fn) {
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    PODLAB_RETURN_IF_ERROR(fn(line, n));
  }
  return Status::Ok();
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// A key file: `public-key = "Z85"` and, in a secret file, `secret-key = "Z85"` (quotes optional).
struct KeyFile {
  std::string public_key, secret_key;
};

Result<KeyFile> read_key_file(const std::string& path, bool need_secret, const std::string& hint) {
  auto text = read_text(path, hint);
  if (!text.ok()) return text.status();
  KeyFile kf;
  PODLAB_RETURN_IF_ERROR(for_each_line(*text, [&](const std::string& line, int n) {
    const std::string where = path + " line " + std::to_string(n) + ": ";
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      return Status::Config(where + "expected 'public-key = \"...\"' or 'secret-key = \"...\"' (write a fresh one with `podlab keys generate`)");
    const std::string name = trim(line.substr(0, eq));
    const std::string value = unquote(trim(line.substr(eq + 1)));
    std::string* slot = name == "public-key" ? &kf.public_key : name == "secret-key" ? &kf.secret_key : nullptr;
    if (!slot) return Status::Config(where + "unknown field '" + name + "' (expected public-key or secret-key)");
    if (!slot->empty()) return Status::Config(where + name + " is given twice");
    if (!is_z85_key(value))
      return Status::Config(where + name + " is not a CURVE key (40 Z85 characters; this one has " +
                            std::to_string(value.size()) + ")");
    *slot = value;
    return Status::Ok();
  }));
  if (kf.public_key.empty()) return Status::Config(path + ": no public-key line (" + hint + ")");
  if (need_secret) {
    if (kf.secret_key.empty())
      return Status::Config(path + ": no secret-key line: this is a public key file, and a secret one is needed here (" + hint + ")");
    char derived[kZ85KeyChars + 1];
    if (zmq_curve_public(derived, kf.secret_key.c_str()) != 0 || kf.public_key != derived)
      return Status::Config(path + ": its secret-key does not belong to its public-key (a damaged or hand-edited file; generate new keys)");
  }
  return kf;
}

Result<std::vector<std::string>> read_authorized(const std::string& path) {
  auto text = read_text(path, "the client public keys this ps accepts, one per line; `podlab keys generate` writes it");
  if (!text.ok()) return text.status();
  std::vector<std::string> keys;
  PODLAB_RETURN_IF_ERROR(for_each_line(*text, [&](const std::string& line, int n) {
    const std::string key = unquote(line.substr(0, line.find_first_of(" \t")));
    if (!is_z85_key(key))
      return Status::Config(path + " line " + std::to_string(n) + ": not a CURVE public key (expected 40 Z85 characters, then an optional name)");
    keys.push_back(key);
    return Status::Ok();
  }));
  if (keys.empty()) return Status::Config(path + ": lists no client key, so no worker could connect (add the workers' client*.pub keys)");
  return keys;
}

// Writes `text` to `path` through a temp file in the same directory (created with `mode`), fsync and
// rename, so a reader sees the old file or the whole new one, never a partial key.
Status write_atomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;  // exactly `mode`, whatever the umask
  size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return Status::Io("cannot write " + path + ": " + why);
  }
  return Status::Ok();
}

std::string key_file_text(const std::string& what, const std::string& pub, const std::string& secret) {
  std::string t = "# podlab CURVE " + what + "\n";
  if (!secret.empty()) t += "# SECRET: keep this file private (mode 0600); anyone holding it can act as its owner.\n";
  t += "public-key = \"" + pub + "\"\n";
  if (!secret.empty()) t += "secret-key = \"" + secret + "\"\n";
  return t;
}

}  // namespace

bool curve_available() { return zmq_has("curve") != 0; }

std::string curve_keys_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("PODLAB_KEYS");
  return env ? env : "";
}

Result<CurveKeys> load_curve_keys(const std::string& dir, const TaskId& task) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    const size_t slash = dir.find_last_of('/');
    return Status::Config("--keys / PODLAB_KEYS names " + dir + ", which is a file, not a key directory: give the directory that " +
                          "holds server.key, server.pub and the client keys" +
                          (slash != std::string::npos && slash > 0 ? " (" + dir.substr(0, slash) + "?)" : std::string()));
  }
  if (::stat(dir.c_str(), &st) != 0)
    return Status::Config("key directory " + dir + " does not exist (create one with `podlab keys generate --out " + dir +
                          "`, or unset --keys / PODLAB_KEYS)");
  if (!curve_available())
    return Status::Config("keys are configured (" + dir + ") but this libzmq was built without CURVE (libsodium); "
                          "install Debian's libzmq5, or run without --keys / PODLAB_KEYS");
  CurveKeys k;
  k.enabled = true;
  k.dir = dir;
  if (task.role == Role::kPs) {
    auto server = read_key_file(dir + "/server.key", true, "the ps tasks' key pair; `podlab keys generate` writes it");
    if (!server.ok()) return server.status();
    auto authorized = read_authorized(dir + "/authorized_clients");
    if (!authorized.ok()) return authorized.status();
    k.server_public = server->public_key;
    k.server_secret = server->secret_key;
    k.authorized = *authorized;
  } else {
    auto server = read_key_file(dir + "/server.pub", false, "the ps tasks' public key; copy it from the key directory of the ps");
    if (!server.ok()) return server.status();
    const std::string own = dir + "/client-" + std::to_string(task.index) + ".key";
    k.client_file = file_exists(own) ? own : dir + "/client.key";
    auto client = read_key_file(k.client_file, true, "this worker's key pair: client-" + std::to_string(task.index) + ".key or client.key");
    if (!client.ok()) return client.status();
    k.server_public = server->public_key;
    k.client_public = client->public_key;
    k.client_secret = client->secret_key;
  }
  return k;
}

namespace {

// client.key/.pub and client-N.key/.pub
bool is_client_key_file(const std::string& name) {
  std::string stem;
  if (name.size() > 4 && (name.compare(name.size() - 4, 4, ".key") == 0 || name.compare(name.size() - 4, 4, ".pub") == 0))
    stem = name.substr(0, name.size() - 4);
  if (stem == "client") return true;
  if (stem.rfind("client-", 0) != 0 || stem.size() == 7) return false;
  return stem.find_first_not_of("0123456789", 7) == std::string::npos;
}

// Removes the client key files in `dir` that are not among `kept` (paths as dir + "/" + name).
Status remove_stale_client_keys(const std::string& dir, const std::vector<std::string>& kept) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::Io("cannot list " + dir + ": " + std::strerror(errno));
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string path = dir + "/" + e->d_name;
    if (is_client_key_file(e->d_name) && std::find(kept.begin(), kept.end(), path) == kept.end()) stale.push_back(path);
  }
  ::closedir(d);
  for (const std::string& path : stale)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Status::Io("cannot remove the old key file " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> generate_curve_key_dir(const std::string& dir, int workers, bool force) {
  if (!curve_available())
    return Status::Config("this libzmq was built without CURVE (libsodium), so it cannot make or use keys; install Debian's libzmq5");
  if (workers < 1) return Status::Usage("need at least one client key");
  for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
    ::mkdir(dir.substr(0, slash).c_str(), 0755);  // parents, as mkdir -p; errors show up below
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status::Io("cannot create " + dir + ": " + std::strerror(errno));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status::Io(dir + " is not a directory");
  const std::string server_key = dir + "/server.key";
  if (!force && file_exists(server_key))
    return Status::Config(server_key + " exists; new keys would lock out every task using the old ones (pass --force to replace them)");

  auto pair = [](std::string* pub, std::string* secret) -> Status {
    char p[kZ85KeyChars + 1], s[kZ85KeyChars + 1];
    if (zmq_curve_keypair(p, s) != 0) return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
    *pub = p;
    *secret = s;
    return Status::Ok();
  };
  std::vector<std::string> written;
  auto write = [&](const std::string& name, const std::string& text, mode_t mode) -> Status {
    PODLAB_RETURN_IF_ERROR(write_atomically(dir + "/" + name, text, mode));
    written.push_back(dir + "/" + name);
    return Status::Ok();
  };
  std::string pub, secret;
  PODLAB_RETURN_IF_ERROR(pair(&pub, &secret));
  PODLAB_RETURN_IF_ERROR(write("server.key", key_file_text("key pair of the ps tasks (server.key)", pub, secret), 0600));
  PODLAB_RETURN_IF_ERROR(write("server.pub", key_file_text("public key of the ps tasks (server.pub)", pub, ""), 0644));
  std::string authorized = "# podlab CURVE client public keys a ps accepts: one per line, quoted (Z85 may start with #), then a name\n";
  for (int i = 0; i < workers; ++i) {
    const std::string name = workers == 1 ? "client" : "client-" + std::to_string(i);
    PODLAB_RETURN_IF_ERROR(pair(&pub, &secret));
    PODLAB_RETURN_IF_ERROR(write(name + ".key", key_file_text("key pair of a worker (" + name + ".key)", pub, secret), 0600));
    PODLAB_RETURN_IF_ERROR(write(name + ".pub", key_file_text("public key of a worker (" + name + ".pub)", pub, ""), 0644));
    authorized += "\"" + pub + "\" " + name + "\n";
  }
  PODLAB_RETURN_IF_ERROR(write("authorized_clients", authorized, 0644));
  PODLAB_RETURN_IF_ERROR(remove_stale_client_keys(dir, written));
  return written;
}

}  // namespace podlab
