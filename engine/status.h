// Status: the result of an operation that can fail for reasons outside the program's control
// (files, flags, peers, messages). Bugs are asserts; expected failures return a Status whose message
// says what went wrong, where, and how to fix it. `code` maps to podlab's documented exit codes.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace podlab {

// Exit codes are part of podlab's interface (Kubernetes podFailurePolicy rules key on them).
enum class StatusCode : int {
  kOk = 0,
  kInternal = 1,         // a bug or an unexpected failure
  kUsage = 2,            // wrong flags or values on the command line
  kConfig = 3,           // a bad configuration, model spec, cluster spec or lesson
  kData = 4,             // a dataset or checkpoint that is missing, corrupt or mismatched
  kIo = 5,               // a file could not be read or written
  kNetwork = 6,          // a peer or server could not be reached, or sent a bad message
  kInterrupted = 130,    // stopped by SIGINT/SIGTERM after saving state
  kPreempted = 143,      // a cluster task's chief got SIGTERM (a pod going away): it checkpointed and
                         //   left the rest of its cluster running, for a replacement to resume
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(StatusCode code, std::string message) { return Status(code, std::move(message)); }
  static Status Usage(std::string m) { return Error(StatusCode::kUsage, std::move(m)); }
  static Status Config(std::string m) { return Error(StatusCode::kConfig, std::move(m)); }
  static Status Data(std::string m) { return Error(StatusCode::kData, std::move(m)); }
  static Status Io(std::string m) { return Error(StatusCode::kIo, std::move(m)); }
  static Status Network(std::string m) { return Error(StatusCode::kNetwork, std::move(m)); }
  static Status Internal(std::string m) { return Error(StatusCode::kInternal, std::move(m)); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }

  // Returns a copy with `context + ": "` in front of the message (no-op when ok, and when the message
  // already begins with `context` as a word, as "worker:0: ..." or "worker:0 terminated ..." do).
  Status With(const std::string& context) const {
    if (ok()) return *this;
    const bool has = message_.compare(0, context.size(), context) == 0 && message_.size() > context.size() &&
                     (message_[context.size()] == ':' || message_[context.size()] == ' ');
    return has ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {}    // NOLINT: must not be ok
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

#define PODLAB_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::podlab::Status _st = (expr);          \
    if (!_st.ok()) return _st;              \
  } while (0)

}  // namespace podlab
