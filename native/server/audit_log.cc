#include "native/server/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace wisp::server {

Status AuditLog::Append(const nlohmann::json& entry) {
  const std::string line =
      entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu_);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status(StatusCode::kIoError, path_ + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return Status(err == ENOSPC ? StatusCode::kResourceExhausted : StatusCode::kIoError,
                    path_ + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return Status(StatusCode::kIoError, path_ + ": fdatasync failed");
  return Status::Ok();
}

Result<nlohmann::json> AuditLog::Page(uint64_t after, uint64_t limit) const {
  std::lock_guard lock(mu_);
  nlohmann::json entries = nlohmann::json::array();
  std::ifstream in(path_);
  uint64_t index = 0;
  bool more = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (index++ < after) continue;
    if (entries.size() == limit) {
      more = true;
      break;
    }
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    entries.push_back(j.is_discarded() ? nlohmann::json{{"unreadable", line.substr(0, 200)}} : j);
  }
  nlohmann::json page = {{"entries", entries}};
  page["next"] = more ? nlohmann::json(after + entries.size()) : nlohmann::json(nullptr);
  return page;
}

}  // namespace wisp::server
