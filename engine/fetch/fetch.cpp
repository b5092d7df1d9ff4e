// Downloading and verifying dataset files. Sections: [helpers] files and directories; [content] the
// checks a file must pass; [transfer] one libcurl attempt; [fetch] mirrors, retries, rename;
// [check] verifying a directory for `podlab data list`.
//
// Why a temp file + fsync + rename: rename(2) within one directory is atomic, so a reader (or a crash)
// sees either no file or a complete, verified one; the fsync before the rename keeps a power cut from
// leaving the final name pointing at unwritten blocks, and the fsync of the directory makes the rename
// itself durable.
#include "engine/fetch/fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/data/idx.h"
#include "engine/fetch/md5.h"

namespace podlab {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ---- [helpers] ----

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Status mkdir_p(const std::string& dir) {
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {  // each prefix ending before a '/'
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Io(prefix + ": cannot create directory (" + std::strerror(errno) + ")");
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status::Io(dir + ": not a directory");
  return Status::Ok();
}

void fsync_dir(const std::string& dir) {  // best effort: some filesystems refuse, the data is already safe
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The temporary file a download goes to: hidden, unique, in the target directory (so the final rename
// stays within one filesystem). Removed on destruction unless commit() renamed it.
class TempFile {
 public:
  Status open(const std::string& dir, const std::string& name) {
    std::string templ = dir + "/." + name + ".part-XXXXXX";
    fd_ = ::mkstemp(templ.data());
    if (fd_ < 0) return Status::Io(dir + ": cannot create a temporary file (" + std::strerror(errno) + ")");
    path_ = templ;
    ::fchmod(fd_, 0644);  // mkstemp makes 0600; datasets are meant to be shared
    return Status::Ok();
  }
  Status truncate() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
      return Status::Io(path_ + ": cannot truncate (" + std::strerror(errno) + ")");
    return Status::Ok();
  }
  Status sync() {
    if (::fsync(fd_) != 0) return Status::Io(path_ + ": fsync failed (" + std::strerror(errno) + ")");
    return Status::Ok();
  }
  Status commit(const std::string& final_path) {
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
      return Status::Io(final_path + ": cannot rename the verified download into place (" + std::strerror(errno) + ")");
    path_.clear();
    return Status::Ok();
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

std::string join_url(const std::string& base, const std::string& file) {
  return (!base.empty() && base.back() == '/') ? base + file : base + "/" + file;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; !from.empty() && (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

// ---- [content] ----

struct Content {
  int count = 0, rows = 0, cols = 0;
};

// Fully parses the IDX file at `path` (gzipped or raw) as images ("idx3" in the name) or labels
// ("idx1"). Messages name `origin` instead of `path` (the temp file means nothing to the user).
Status parse_content(const std::string& path, const std::string& name, const std::string& origin,
                     int num_classes, Content* out) {
  auto bytes = read_maybe_gzipped(path);
  if (!bytes.ok()) return Status::Error(bytes.status().code(), replace_all(bytes.status().message(), path, origin));
  if (name.find("idx3") != std::string::npos) {
    auto img = parse_idx_images(std::move(*bytes), origin);
    if (!img.ok()) return img.status();
    *out = Content{img->count, img->rows, img->cols};
  } else if (name.find("idx1") != std::string::npos) {
    auto lab = parse_idx_labels(*bytes, origin, num_classes);
    if (!lab.ok()) return lab.status();
    *out = Content{lab->count, 0, 0};
  } else {
    return Status::Internal(name + ": cannot tell from the name whether it holds images (idx3) or labels (idx1)");
  }
  return Status::Ok();
}

// Each "...-images-..." file must have as many samples as its "...-labels-..." partner.
Status check_pairs(const std::vector<DatasetFile>& files, const std::vector<Content>& content, const std::string& dir) {
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string partner = replace_all(files[i].name, "-images-idx3-", "-labels-idx1-");
    if (partner == files[i].name) continue;
    for (size_t j = 0; j < files.size(); ++j)
      if (files[j].name == partner && content[i].count != content[j].count)
        return Status::Data(dir + ": " + files[i].name + " has " + std::to_string(content[i].count) + " images but " +
                            partner + " has " + std::to_string(content[j].count) + " labels");
  }
  return Status::Ok();
}

// Everything a downloaded or already-present NAME.gz must pass before it may keep its final name.
Status verify_gz(const std::string& path, const DatasetFile& f, const std::string& origin, const FetchOptions& o,
                 int64_t size, const std::string& md5, Content* content) {
  if (o.verify_checksum && size != f.gz_size)
    return Status::Data(origin + ": got " + std::to_string(size) + " bytes but the published file has " +
                        std::to_string(f.gz_size) + (size < f.gz_size ? " (truncated?)" : ""));
  if (o.verify_checksum && md5 != f.md5)
    return Status::Data(origin + ": MD5 " + md5 + " differs from the published " + f.md5 +
                        " (corrupted in transit, or the mirror serves a different file)");
  unsigned char magic[2] = {0, 0};
  if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
    if (std::fread(magic, 1, 2, in) != 2) magic[0] = 0;
    std::fclose(in);
  }
  if (magic[0] != 0x1f || magic[1] != 0x8b)  // e.g. an HTML error page served with status 200
    return Status::Data(origin + ": not a gzip file");
  return parse_content(path, f.name, origin, o.num_classes, content);
}

// ---- [transfer] ----

struct Transfer {
  const FetchOptions* opts = nullptr;
  int fd = -1;
  int64_t cap = 0;        // abort beyond this many bytes
  int64_t expected = -1;  // published size or -1
  Md5 md5;
  int64_t bytes = 0;
  bool over_cap = false, stopped = false, stalled = false;
  int write_errno = 0;
  FetchEvent event;       // template for progress events
  Clock::time_point start = Clock::now(), last_emit{}, last_data = Clock::now();
  curl_off_t last_bytes = 0;
};

size_t on_write(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->bytes + static_cast<int64_t>(n) > t->cap) {
    t->over_cap = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::write(t->fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      t->write_errno = errno;
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  t->md5.update(data, n);
  t->bytes += static_cast<int64_t>(n);
  return n;
}

// Called by curl about once a second even when idle, and more often while data flows. Implements the
// stop flag and the stall timeout (curl's LOW_SPEED_* options average over several seconds, so a
// stall right after a burst of data would be noticed late).
int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->opts->stop && *t->opts->stop) {
    t->stopped = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  if (dlnow > t->last_bytes) {
    t->last_bytes = dlnow;
    t->last_data = Clock::now();
  } else if (seconds_since(t->last_data) > t->opts->timeout_s) {
    t->stalled = true;
    return 1;
  }
  if (t->opts->progress && Clock::now() - t->last_emit >= std::chrono::milliseconds(100)) {
    t->last_emit = Clock::now();
    FetchEvent e = t->event;
    e.kind = FetchEvent::Kind::kProgress;
    e.bytes = t->bytes;
    e.total = t->expected > 0 ? t->expected : (dltotal > 0 ? static_cast<int64_t>(dltotal) : -1);
    e.seconds = seconds_since(t->start);
    t->opts->progress(e);
  }
  return 0;
}

struct Attempt {
  Attempt() = default;
  explicit Attempt(Status s) : status(std::move(s)) {}
  Status status;
  bool transient = false;  // worth retrying on the same mirror
  int64_t bytes = 0;
  std::string md5;
};

bool is_transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT: case CURLE_PARTIAL_FILE: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// One attempt: GET `url` into the temp file. Never retries by itself.
Attempt download(CURL* curl, const std::string& url, TempFile& tmp, const DatasetFile& f, const FetchOptions& o,
                 FetchEvent event) {
  Attempt a;
  if (Status st = tmp.truncate(); !st.ok()) return Attempt(st);
  Transfer t;
  t.opts = &o;
  t.fd = tmp.fd();
  t.cap = o.verify_checksum ? f.gz_size : (int64_t{512} << 20);
  t.expected = o.verify_checksum ? f.gz_size : -1;
  t.event = event;
  char errbuf[CURL_ERROR_SIZE] = "";
  const long timeout_ms = std::max(1L, std::lround(o.timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);  // HTTP >= 400: no body written, CURLE_HTTP_RETURNED_ERROR
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "podlab-data-fetch/0.1");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);  // stalls after connecting: on_progress
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // errbuf and t die with this frame
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  a.bytes = t.bytes;
  if (rc == CURLE_OK && (http == 0 || (http >= 200 && http < 300))) {  // 0: file:// URLs
    a.md5 = t.md5.hex_digest();
    return a;
  }
  const std::string detail = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
  if (t.stopped) return Attempt(Status::Error(StatusCode::kInterrupted, url + ": download interrupted"));
  if (t.stalled) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", o.timeout_s);
    a.status = Status::Network(url + ": no data for " + secs + " s (see --timeout)");
    a.transient = true;
    return a;
  }
  if (t.write_errno) return Attempt(Status::Io(tmp.path() + ": write failed (" + std::strerror(t.write_errno) + ")"));
  if (t.over_cap)
    return Attempt(Status::Data(url + ": server sent more than " + std::to_string(t.cap) + " bytes" +
                                (o.verify_checksum ? " (the published size); wrong file?" : "")));
  if (rc == CURLE_HTTP_RETURNED_ERROR || rc == CURLE_OK) {
    a.status = Status::Network(url + ": HTTP status " + std::to_string(http));
    a.transient = http >= 500 || http == 408 || http == 429;
    return a;
  }
  a.status = Status::Network(url + ": " + detail);
  a.transient = is_transient(rc);
  return a;
}

// ---- [fetch] ----

void emit(const FetchOptions& o, FetchEvent e) {
  if (o.progress) o.progress(e);
}

bool sleep_unless_stopped(const FetchOptions& o, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (o.stop && *o.stop) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !(o.stop && *o.stop);
}

// Gets one file into place, trying each mirror with retries. Returns kIo/kInterrupted at once; otherwise
// kData if some mirror delivered a wrong file, else kNetwork, with every mirror's failure listed.
Status fetch_one(CURL* curl, const DatasetFile& f, const FetchOptions& o, FetchedFile* out, Content* content) {
  const std::string gz = f.name + ".gz", final_path = o.dir + "/" + gz;
  out->name = gz;
  out->path = final_path;
  TempFile tmp;
  PODLAB_RETURN_IF_ERROR(tmp.open(o.dir, gz));
  std::vector<std::string> failures;
  bool wrong_content = false;
  for (const std::string& mirror : o.mirrors) {
    const std::string url = join_url(mirror, gz);
    for (int attempt = 1;; ++attempt) {
      FetchEvent ev;
      ev.file = gz;
      ev.url = url;
      ev.attempt = attempt;
      ev.total = o.verify_checksum ? f.gz_size : -1;
      ev.kind = FetchEvent::Kind::kStart;
      emit(o, ev);
      const auto start = Clock::now();
      Attempt a = download(curl, url, tmp, f, o, ev);
      ev.bytes = a.bytes;
      ev.seconds = seconds_since(start);
      Status st = a.status;
      if (st.ok()) {
        ev.kind = FetchEvent::Kind::kVerifying;
        emit(o, ev);
        PODLAB_RETURN_IF_ERROR(tmp.sync());
        st = verify_gz(tmp.path(), f, url, o, a.bytes, a.md5, content);
        if (st.ok()) {
          PODLAB_RETURN_IF_ERROR(tmp.commit(final_path));
          fsync_dir(o.dir);
          out->url = url;
          out->bytes = a.bytes;
          ev.kind = FetchEvent::Kind::kDone;
          ev.path = final_path;
          emit(o, ev);
          return Status::Ok();
        }
      }
      if (st.code() == StatusCode::kIo || st.code() == StatusCode::kInterrupted) return st;
      if (a.transient && attempt <= o.retries) {
        ev.kind = FetchEvent::Kind::kRetry;
        ev.wait_s = std::min(30.0, o.backoff_s * std::pow(2.0, attempt - 1));
        ev.message = st.message();
        emit(o, ev);
        if (!sleep_unless_stopped(o, ev.wait_s))
          return Status::Error(StatusCode::kInterrupted, url + ": interrupted while waiting to retry");
        continue;
      }
      wrong_content = wrong_content || st.code() == StatusCode::kData;
      failures.push_back(st.message() + (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : ""));
      ev.kind = FetchEvent::Kind::kMirrorFailed;
      ev.message = failures.back();
      emit(o, ev);
      break;
    }
  }
  std::string msg = failures.size() == 1 ? failures[0] : gz + ": every mirror failed:";
  if (failures.size() > 1)
    for (const auto& m : failures) msg += "\n  " + m;
  return Status::Error(wrong_content ? StatusCode::kData : StatusCode::kNetwork, msg);
}

}  // namespace

Result<std::vector<FetchedFile>> fetch_files(const std::vector<DatasetFile>& files, const FetchOptions& o) {
  if (o.mirrors.empty()) return Status::Usage("no mirror to download from");
  if (o.dir.empty()) return Status::Usage("no target directory");
  if (o.retries < 0) return Status::Usage("--retries must be >= 0");
  if (!(o.timeout_s > 0)) return Status::Usage("--timeout must be > 0");
  PODLAB_RETURN_IF_ERROR(mkdir_p(o.dir));
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");

  std::vector<FetchedFile> fetched(files.size());
  std::vector<Content> content(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const DatasetFile& f = files[i];
    const std::string final_path = o.dir + "/" + f.name + ".gz";
    if (exists(final_path)) {  // keep it if it passes the same checks as a fresh download
      auto md5 = o.verify_checksum ? md5_file(final_path) : Result<std::string>(std::string());
      struct stat st {};
      ::stat(final_path.c_str(), &st);
      if (md5.ok() && verify_gz(final_path, f, final_path, o, st.st_size, *md5, &content[i]).ok()) {
        fetched[i] = FetchedFile{f.name + ".gz", final_path, "", true, static_cast<int64_t>(st.st_size)};
        FetchEvent ev;
        ev.kind = FetchEvent::Kind::kSkipped;
        ev.file = fetched[i].name;
        ev.path = final_path;
        ev.bytes = ev.total = fetched[i].bytes;
        emit(o, ev);
        continue;
      }
    }
    PODLAB_RETURN_IF_ERROR(fetch_one(curl.get(), f, o, &fetched[i], &content[i]));
  }
  PODLAB_RETURN_IF_ERROR(check_pairs(files, content, o.dir));
  return fetched;
}

std::vector<DatasetFile> dataset_files(const DatasetInfo& info) {
  return {info.train_images, info.train_labels, info.test_images, info.test_labels};
}

Result<std::vector<FetchedFile>> fetch_dataset(const DatasetInfo& info, FetchOptions options) {
  if (options.mirrors.empty()) options.mirrors = info.default_mirrors;
  if (options.dir.empty()) options.dir = dataset_cache_dir(info.name);
  options.num_classes = static_cast<int>(info.class_names.size());
  return fetch_files(dataset_files(info), options);
}

// ---- [check] ----

bool DirCheck::all_checksums_match() const {
  return std::all_of(files.begin(), files.end(), [](const FileCheck& f) { return f.checksum == ChecksumState::kMatch; });
}

DirCheck check_dataset_dir(const std::vector<DatasetFile>& files, const std::string& dir, int num_classes) {
  DirCheck out;
  std::vector<Content> content(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    FileCheck fc;
    fc.name = files[i].name;
    fc.path = find_dataset_file(dir, fc.name);
    if (fc.path.empty()) {
      fc.content = Status::Data(dir + ": " + fc.name + "(.gz) is missing");
    } else {
      auto md5 = md5_file(fc.path);
      fc.md5 = md5.ok() ? *md5 : "";
      const bool gz = fc.path.size() > 3 && fc.path.compare(fc.path.size() - 3, 3, ".gz") == 0;
      fc.checksum = !gz ? ChecksumState::kUncompressed
                        : (fc.md5 == files[i].md5 ? ChecksumState::kMatch : ChecksumState::kDiffers);
      fc.content = md5.ok() ? parse_content(fc.path, fc.name, fc.path, num_classes, &content[i]) : md5.status();
      fc.count = content[i].count;
      fc.rows = content[i].rows;
      fc.cols = content[i].cols;
    }
    if (out.content.ok() && !fc.content.ok()) out.content = fc.content;
    out.files.push_back(std::move(fc));
  }
  if (out.content.ok()) out.content = check_pairs(files, content, dir);
  return out;
}

}  // namespace podlab
