// The access log: one line per answered request, in the spirit of nginx's access_log.
//
//   2026-12-06T03:04:05.678Z 127.0.0.1 "GET /v1/models HTTP/1.1" 200 1234 0.412ms token=-
//   "curl/8.5.0"
//
// Fields: time (UTC, ms), client address, request line, status, response body bytes, duration
// from the end of the request header to the end of the response, the id of the bearer token used
// (Handler::TokenId: "-", "invalid" or a digest prefix; never the token) and the User-Agent.
// Quotes, backslashes and control characters in client-supplied fields are escaped (\xHH) so that
// a request cannot forge log lines.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/core/status.h"

namespace wisp::server {

struct AccessRecord {
  std::string client;  // address without port
  std::string method, target;
  unsigned version = 11;  // 10 or 11
  unsigned status = 0;
  uint64_t body_bytes = 0;
  double duration_ms = 0;
  std::string token_id;
  std::string user_agent;
};

class AccessLog {
 public:
  AccessLog() = default;
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // `spec`: "-" (stderr), "off", or a file path (created 0644, appended to).
  Status Open(const std::string& spec);
  // Reopens the file (after logrotate moved it away; SIGHUP). A failure keeps the old file.
  Status Reopen();
  bool enabled() const { return fd_.load(std::memory_order_relaxed) >= 0; }
  // One write(2) per line under a mutex: lines from different I/O threads never interleave and a
  // kill -9 loses none that were written.
  void Write(const AccessRecord& r);

  static std::string Format(const AccessRecord& r);

 private:
  std::mutex mu_;
  std::string path_;  // empty for stderr
  // Read by every I/O thread (enabled()) while SIGHUP's Reopen swaps it (under mu_, as Write
  // reads it): atomic, so the unlocked read is no data race (TSan found one).
  std::atomic<int> fd_{-1};
};

}  // namespace wisp::server
