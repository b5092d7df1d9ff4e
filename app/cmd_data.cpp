// `podlab data list` and `podlab data fetch`: what datasets are here, and getting the missing ones.
// The work is in engine/fetch; this file parses flags and turns progress events into a bar (on a
// terminal) or into `fetch key=value ...` lines (in a pipe or a log, at most two a second per file).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "app/command.h"
#include "app/progress_bar.h"
#include "engine/data/dataset.h"
#include "engine/fetch/fetch.h"

namespace podlab {
namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_interrupt(int) { g_stop = 1; }

std::string human_bytes(int64_t n) {
  char buf[32];
  if (n < 0) return "?";
  if (n < 1024) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(n));
  else if (n < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KB", n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f MB", n / (1024.0 * 1024.0));
  return buf;
}

std::string quoted(const std::string& s) {  // for key="value" lines: one line, no bare quotes
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\\\"") : c == '\n' ? std::string("; ") : std::string(1, c);
  return out + "\"";
}

// Renders FetchEvents. On a terminal it redraws one line per file with \r; otherwise it prints
// parseable lines and throttles progress lines to one per 0.5 s per file.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool tty) : tty_(tty) {}
  void operator()(const FetchEvent& e) { tty_ ? draw(e) : line(e); }

 private:
  using Kind = FetchEvent::Kind;
  void draw(const FetchEvent& e) {
    switch (e.kind) {
      case Kind::kSkipped:
        std::printf("%-28s already present and verified (%s)\n", e.file.c_str(), e.path.c_str());
        break;
      case Kind::kStart:
        std::printf("%-28s %s%s\n", e.file.c_str(), e.url.c_str(), e.attempt > 1 ? " (retrying)" : "");
        break;
      case Kind::kProgress: {
        const double rate = e.seconds > 0 ? e.bytes / e.seconds : 0;
        const double frac = e.total > 0 ? double(e.bytes) / e.total : 0.0;
        const double eta = e.total > 0 && rate > 0 ? (e.total - e.bytes) / rate : -1;
        draw_progress_bar(frac, eta, " ", human_bytes(e.bytes) + " / " + human_bytes(e.total) + "  " +
                                              human_bytes(static_cast<int64_t>(rate)) + "/s");
        bar_open_ = true;
        return;
      }
      case Kind::kVerifying:
        std::printf("\r\033[K  %s in %.1fs; verifying...", human_bytes(e.bytes).c_str(), e.seconds);
        bar_open_ = true;
        std::fflush(stdout);
        return;
      case Kind::kDone:
        std::printf("\r\033[K  %s in %.1fs, verified -> %s\n", human_bytes(e.bytes).c_str(), e.seconds,
                    e.path.c_str());
        break;
      case Kind::kRetry:
        std::printf("%s  %s\n  waiting %.1fs before attempt %d\n", bar_open_ ? "\n" : "", e.message.c_str(), e.wait_s,
                    e.attempt + 1);
        break;
      case Kind::kMirrorFailed:
        std::printf("%s  failed: %s\n", bar_open_ ? "\n" : "", e.message.c_str());
        break;
    }
    bar_open_ = false;  // every other event ends its line
    std::fflush(stdout);
  }

  void line(const FetchEvent& e) {
    const char* f = e.file.c_str();
    switch (e.kind) {
      case Kind::kSkipped: std::printf("fetch file=%s event=skipped path=%s\n", f, e.path.c_str()); break;
      case Kind::kStart:
        last_ = std::chrono::steady_clock::now();
        std::printf("fetch file=%s event=start url=%s attempt=%d\n", f, e.url.c_str(), e.attempt);
        break;
      case Kind::kProgress:
        if (std::chrono::steady_clock::now() - last_ < std::chrono::milliseconds(500)) return;
        last_ = std::chrono::steady_clock::now();
        std::printf("fetch file=%s bytes=%lld total=%lld\n", f, static_cast<long long>(e.bytes),
                    static_cast<long long>(e.total));
        break;
      case Kind::kVerifying:
        std::printf("fetch file=%s event=verifying bytes=%lld seconds=%.2f\n", f, static_cast<long long>(e.bytes),
                    e.seconds);
        break;
      case Kind::kDone: std::printf("fetch file=%s event=done path=%s\n", f, e.path.c_str()); break;
      case Kind::kRetry:
        std::printf("fetch file=%s event=retry attempt=%d wait=%.2f error=%s\n", f, e.attempt, e.wait_s,
                    quoted(e.message).c_str());
        break;
      case Kind::kMirrorFailed:
        std::printf("fetch file=%s event=mirror-failed url=%s error=%s\n", f, e.url.c_str(), quoted(e.message).c_str());
        break;
    }
    std::fflush(stdout);
  }

  bool tty_;
  bool bar_open_ = false;  // a \r-redrawn line is on screen without its newline
  std::chrono::steady_clock::time_point last_{};
};

Status unknown_dataset(const std::string& name) {
  std::string known;
  for (const auto& d : known_datasets()) known += (known.empty() ? "" : ", ") + d.name;
  return Status::Usage("unknown dataset '" + name + "' (known: " + known + ")");
}

// One-line verdict on a found dataset, in the words the issue asks for.
std::string verdict(const DirCheck& c) {
  if (!c.content.ok()) return "FAILED: " + c.content.message();
  if (c.all_checksums_match()) return "verified (content, and checksums match the published files)";
  for (const auto& f : c.files)
    if (f.checksum == ChecksumState::kDiffers) return "content verified, recompressed (checksum differs from published)";
  return "content verified, uncompressed (no published checksum applies)";
}

Status run_list(const std::string& data_flag) {
  bool all_ok = true;
  for (const DatasetInfo& info : known_datasets()) {
    std::printf("%s: %s\n", info.name.c_str(), info.description.c_str());
    const std::string dir = locate_dataset(info.name, data_flag);
    if (dir.empty()) {
      std::printf("  not found; looked in:\n");
      for (const auto& d : dataset_search_dirs(info.name, data_flag)) std::printf("    %s\n", d.c_str());
      std::printf("  get it with: podlab data fetch %s\n\n", info.name.c_str());
      continue;
    }
    std::printf("  found in %s\n", dir.c_str());
    const DirCheck check = check_dataset_dir(dataset_files(info), dir, static_cast<int>(info.class_names.size()));
    const std::vector<DatasetFile> expected = dataset_files(info);
    for (size_t i = 0; i < check.files.size(); ++i) {
      const FileCheck& f = check.files[i];
      std::string what = !f.content.ok() ? "bad" : f.rows > 0 ? std::to_string(f.count) + " images " +
                         std::to_string(f.rows) + "x" + std::to_string(f.cols) : std::to_string(f.count) + " labels";
      const char* sum = f.checksum == ChecksumState::kMatch ? "md5 matches published"
                        : f.checksum == ChecksumState::kDiffers ? "md5 differs from published"
                        : f.checksum == ChecksumState::kUncompressed ? "not compressed" : "missing";
      std::printf("    %-26s %-22s %s\n", expected[i].name.c_str(), what.c_str(), sum);
    }
    std::printf("  %s\n\n", verdict(check).c_str());
    all_ok = all_ok && check.content.ok();
  }
  return all_ok ? Status::Ok() : Status::Data("a dataset that was found does not verify (see above)");
}

struct FetchArgs {
  std::string name, from, dir;
  int retries = 3;
  double timeout = 30;
  bool no_verify_checksum = false;
};

Status run_fetch(const FetchArgs& a) {
  const DatasetInfo* info = find_dataset_info(a.name);
  if (!info) return unknown_dataset(a.name);
  FetchOptions o;
  if (!a.from.empty()) o.mirrors = {a.from};
  o.dir = a.dir;
  o.retries = a.retries;
  o.timeout_s = a.timeout;
  o.verify_checksum = !a.no_verify_checksum;
  ProgressPrinter printer(stdout_is_terminal());
  o.progress = [&printer](const FetchEvent& e) { printer(e); };
  g_stop = 0;
  o.stop = &g_stop;
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  auto result = fetch_dataset(*info, o);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!result.ok()) return result.status();
  int downloaded = 0;
  for (const auto& f : *result) downloaded += f.skipped ? 0 : 1;
  const std::string dir = a.dir.empty() ? dataset_cache_dir(a.name) : a.dir;
  std::printf("%s: all %zu files verified in %s (%d downloaded, %zu already present)\n", a.name.c_str(),
              result->size(), dir.c_str(), downloaded, result->size() - downloaded);
  const auto searched = dataset_search_dirs(a.name, "");
  if (std::find(searched.begin(), searched.end(), dir) == searched.end())
    std::printf("this directory is not on the default search path; pass --data %s when training\n", dir.c_str());
  return Status::Ok();
}

}  // namespace

void add_data_commands(CLI::App& root, int& exit_code) {
  CLI::App* data = root.add_subcommand("data", "List the datasets podlab can find, or download one");
  data->require_subcommand(1);

  auto* list = data->add_subcommand(
      "list", "Show each known dataset, where it was found (or where podlab looked) and whether it verifies; "
              "exits 4 if a found dataset is corrupt");
  auto data_flag = std::make_shared<std::string>();
  list->add_option("--data", *data_flag, "Look only in DIR and DIR/NAME (as `podlab train --data` does)");
  list->callback([data_flag, &exit_code] { exit_code = report(run_list(*data_flag)); });

  auto args = std::make_shared<FetchArgs>();
  auto* fetch = data->add_subcommand(
      "fetch", "Download a dataset's four IDX .gz files, verify them (size, published MD5, full IDX parse) and "
               "move them into place; files already present and verified are skipped");
  fetch->add_option("name", args->name, "Dataset to download: mnist or fashion-mnist")->required();
  fetch->add_option("--from", args->from,
                    "Base URL to download from instead of the dataset's default mirrors (files are fetched as "
                    "URL/NAME.gz; http, https and file URLs)");
  fetch->add_option("--dir", args->dir, "Directory to store the files in (default: ~/.cache/podlab/NAME, "
                                        "or $XDG_CACHE_HOME/podlab/NAME)");
  fetch->add_option("--retries", args->retries, "Extra attempts per mirror after a transient failure "
                                                "(connection refused, timeout, HTTP 5xx), with doubling waits")
      ->check(non_negative())
      ->capture_default_str();
  fetch->add_option("--timeout", args->timeout, "Seconds without any progress (connecting or receiving) "
                                                "before an attempt is abandoned")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  fetch->add_flag("--no-verify-checksum", args->no_verify_checksum,
                  "Accept files whose size or MD5 differs from the published ones (e.g. a mirror of Debian's "
                  "recompressed files); the full IDX parse still runs");
  fetch->callback([args, &exit_code] { exit_code = report(run_fetch(*args)); });
}

}  // namespace podlab
