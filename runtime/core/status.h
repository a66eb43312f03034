// Errors as values: the core compiles without exceptions (small WASM), so every fallible call
// returns a Status or a Result<T> whose message names the tensor, operator or byte offset at fault.
#pragma once

#include <cstdarg>
#include <string>
#include <utility>

namespace wisp {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong (shape, dtype, size)
  kInvalidModel,     // the model file is corrupt, hostile or inconsistent
  kUnsupported,      // valid, but an operator/dtype we do not implement
  kNotFound,
  kOutOfRange,
  kResourceExhausted,
  kIoError,
  kInternal,
  // Added for the server and client (kept after the others so existing values do not change):
  kFailedPrecondition,  // the target is not in a state the operation needs (a version in use)
  kDataLoss,            // stored data no longer matches its recorded digest (corrupt on disk)
  kMalformed,           // input that does not parse as its format says (JSON syntax)
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid model: tensor 3 ('conv1/w'): data range exceeds the data section"
  std::string ToString() const;

  // Prefixes context while an error travels outwards ("loading foo.wisp: ...").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::string StrFormat(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#define WISP_ERROR_FACTORY(Name, Code)                                            \
  inline Status Name(const char* fmt, ...) __attribute__((format(printf, 1, 2))); \
  inline Status Name(const char* fmt, ...) {                                      \
    va_list ap;                                                                   \
    va_start(ap, fmt);                                                            \
    char buf[1024];                                                               \
    vsnprintf(buf, sizeof(buf), fmt, ap);                                         \
    va_end(ap);                                                                   \
    return Status(StatusCode::Code, buf);                                         \
  }

}  // namespace wisp

#include <cstdio>

namespace wisp {
WISP_ERROR_FACTORY(InvalidArgument, kInvalidArgument)
WISP_ERROR_FACTORY(InvalidModel, kInvalidModel)
WISP_ERROR_FACTORY(Unsupported, kUnsupported)
WISP_ERROR_FACTORY(NotFound, kNotFound)
WISP_ERROR_FACTORY(OutOfRange, kOutOfRange)
WISP_ERROR_FACTORY(ResourceExhausted, kResourceExhausted)
WISP_ERROR_FACTORY(IoError, kIoError)
WISP_ERROR_FACTORY(Internal, kInternal)
WISP_ERROR_FACTORY(FailedPrecondition, kFailedPrecondition)
WISP_ERROR_FACTORY(DataLoss, kDataLoss)
WISP_ERROR_FACTORY(Malformed, kMalformed)
#undef WISP_ERROR_FACTORY

// Result<T>: a value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT(implicit)
  Result(Status status) : status_(std::move(status)) {}            // NOLINT(implicit)

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T& operator*() & { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }

 private:
  Status status_;
  T value_{};
  bool has_value_ = false;
};

}  // namespace wisp

#define WISP_CONCAT_INNER(a, b) a##b
#define WISP_CONCAT(a, b) WISP_CONCAT_INNER(a, b)

#define WISP_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::wisp::Status wisp_status_ = (expr);        \
    if (!wisp_status_.ok()) return wisp_status_; \
  } while (0)

#define WISP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#define WISP_ASSIGN_OR_RETURN(lhs, expr) \
  WISP_ASSIGN_OR_RETURN_IMPL(WISP_CONCAT(wisp_result_, __LINE__), lhs, expr)
