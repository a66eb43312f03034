// The registry's audit log: one JSON line per write attempt (publish, channel move or delete,
// version delete; allowed or refused), appended to <data>/audit.log and flushed to disk before
// the write is answered. Append-only: the server never rewrites or truncates it (an operator
// rotates it by moving the file away; the next write starts a new one).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/core/status.h"

namespace wisp::server {

class AuditLog {
 public:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}

  // Appends `entry` (one object) as one line. A failure is returned for the server's log; the
  // write it describes has already happened or been refused.
  Status Append(const nlohmann::json& entry);

  // Entries after the first `after` (0-based line count), at most `limit` of them, and the value
  // of `after` for the next page (absent when there is none): {"entries": [...], "next": N}.
  Result<nlohmann::json> Page(uint64_t after, uint64_t limit) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mutable std::mutex mu_;
};

}  // namespace wisp::server
