// Dataset downloads: fetch the four IDX .gz files of a dataset over HTTP(S) with libcurl, and verify
// dataset directories. A file only ever appears under its final name after it has been downloaded to
// a temporary file in the same directory, flushed to disk, checked (size and MD5 against the published
// values, then a full IDX parse of the decompressed content) and renamed. The library never prints:
// callers get progress through a callback and failures as a Status (kNetwork: no mirror could deliver
// the file; kData: a file arrived but was wrong; kIo: the target directory is unusable; kInterrupted:
// the stop flag was raised). Kept out of `engine` so that `engine` stays network-free.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/status.h"

namespace podlab {

// What a progress callback is told. Called on the fetching thread, at most every 100 ms per file
// during a transfer plus once for every other event; the callback must not throw.
struct FetchEvent {
  enum class Kind {
    kSkipped,    // already present and verified: nothing to do
    kStart,      // an attempt to download `url` begins
    kProgress,   // bytes arrived
    kRetry,      // the attempt failed transiently; waiting `wait_s` before attempt `attempt` + 1
    kMirrorFailed,  // giving up on this mirror (`message` says why); the next one is tried, if any
    kVerifying,  // download complete; checking checksum and content
    kDone,       // verified and renamed to `path`
  };
  Kind kind = Kind::kProgress;
  std::string file;     // e.g. "train-images-idx3-ubyte.gz"
  std::string url;      // empty for kSkipped
  std::string path;     // final path (kSkipped, kDone)
  int64_t bytes = 0;    // received so far in this attempt
  int64_t total = -1;   // expected bytes: the published size, else Content-Length, else -1
  double seconds = 0;   // since this attempt started
  int attempt = 0;      // 1-based attempt number on this mirror
  double wait_s = 0;    // kRetry only
  std::string message;  // kRetry, kMirrorFailed: what went wrong
};
using FetchProgressFn = std::function<void(const FetchEvent&)>;

struct FetchOptions {
  // Base URLs tried in order; each file is fetched as BASE/FILE.gz. Must not be empty. http, https
  // and file URLs are accepted; redirects are followed to http(s) only.
  std::vector<std::string> mirrors;
  std::string dir;          // target directory, created if missing (mkdir -p). Must not be empty.
  int retries = 3;          // extra attempts per mirror after a transient failure (>= 0)
  double timeout_s = 30;    // an attempt is abandoned after this many seconds without progress
  double backoff_s = 1.0;   // first wait between attempts; doubles each time, capped at 30 s
  // When false, the size and MD5 are not compared (for mirrors hosting recompressed copies); the
  // full IDX parse still runs, and the download is capped at 512 MiB.
  bool verify_checksum = true;
  int num_classes = 10;     // labels must lie in 0..num_classes-1
  FetchProgressFn progress;  // may be empty
  // When non-null and set non-zero (e.g. by a SIGINT handler), the fetch stops within about a second,
  // removes its temporary file and returns kInterrupted.
  const volatile std::sig_atomic_t* stop = nullptr;
};

struct FetchedFile {
  std::string name;  // "train-images-idx3-ubyte.gz"
  std::string path;  // final path
  std::string url;   // where it came from; empty when skipped
  bool skipped = false;
  int64_t bytes = 0;
};

// Fetches each of `files` (stored as dir/NAME.gz) into options.dir. Files already present that
// verify are skipped; present files that do not verify are replaced (atomically, by rename). Stops at
// the first file that no mirror can deliver. After all files are in place, checks that each images
// file and its labels file (same name with "images" -> "labels") hold the same number of samples.
// On failure no unverified file is left under a final name and the temporary file is removed (only a
// killed process can leave a hidden DIR/.NAME.gz.part-XXXXXX behind; nothing reads those).
// Not safe to run twice at once on the same directory (the last rename wins, both copies verified).
Result<std::vector<FetchedFile>> fetch_files(const std::vector<DatasetFile>& files, const FetchOptions& options);

// fetch_files for a known dataset: its four files, and its default mirrors and
// dataset_cache_dir(info.name) when options.mirrors / options.dir are empty.
Result<std::vector<FetchedFile>> fetch_dataset(const DatasetInfo& info, FetchOptions options);

// The four files of a known dataset, in the order train images, train labels, test images, test labels.
std::vector<DatasetFile> dataset_files(const DatasetInfo& info);

// ---- verifying a directory (for `podlab data list`) ----

enum class ChecksumState {
  kMissing,       // the file is not there
  kMatch,         // NAME.gz with the published MD5
  kDiffers,       // NAME.gz whose bytes differ from the published file (e.g. recompressed)
  kUncompressed,  // only the raw NAME is there: no published checksum applies
};

struct FileCheck {
  std::string name;  // base name without .gz
  std::string path;  // what was checked, "" when missing
  ChecksumState checksum = ChecksumState::kMissing;
  std::string md5;   // of the file as stored ("" when missing)
  Status content;    // the full IDX parse
  int count = 0, rows = 0, cols = 0;  // from the header when content is ok (rows/cols: images only)
};

struct DirCheck {
  std::vector<FileCheck> files;  // in the order given
  Status content;  // ok when every file parses and each images/labels pair has matching counts
  bool all_checksums_match() const;
};

// Checks `dir` against `files`: finds each file (NAME.gz, else NAME), hashes it and parses it fully.
// Reads every byte, so it takes about a second per 50 MB. Never fails as a whole: problems are in
// the returned Statuses, each naming the file.
DirCheck check_dataset_dir(const std::vector<DatasetFile>& files, const std::string& dir, int num_classes = 10);

}  // namespace podlab
