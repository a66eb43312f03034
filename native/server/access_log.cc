#include "native/server/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace wisp::server {

namespace {

// Client-supplied text in a quoted field: printable ASCII as is; '"', '\\', controls and bytes
// >= 0x7f as \xHH.
void AppendEscaped(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

std::string NowIsoMillis() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

Result<int> OpenAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return IoError("cannot open access log %s: %s", path.c_str(), std::strerror(errno));
  }
  return fd;
}

}  // namespace

AccessLog::~AccessLog() {
  const int fd = fd_.load();
  if (fd > 2) ::close(fd);
}

Status AccessLog::Open(const std::string& spec) {
  if (spec == "off") return Status::Ok();
  if (spec == "-" || spec.empty()) {
    fd_ = 2;
    return Status::Ok();
  }
  path_ = spec;
  Result<int> fd = OpenAppend(path_);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  return Status::Ok();
}

Status AccessLog::Reopen() {
  if (path_.empty()) return Status::Ok();
  Result<int> fd = OpenAppend(path_);
  if (!fd.ok()) return fd.status();
  std::lock_guard lock(mu_);
  const int old = fd_.exchange(*fd);
  if (old > 2) ::close(old);
  return Status::Ok();
}

std::string AccessLog::Format(const AccessRecord& r) {
  std::string line = NowIsoMillis();
  line += ' ';
  line += r.client.empty() ? "-" : r.client;
  line += " \"";
  if (r.method.empty()) {
    line += '-';
  } else {
    AppendEscaped(&line, r.method);
    line += ' ';
    AppendEscaped(&line, r.target);
    line += r.version == 10 ? " HTTP/1.0" : " HTTP/1.1";
  }
  char nums[96];
  std::snprintf(nums, sizeof(nums), "\" %u %llu %.3fms token=", r.status,
                static_cast<unsigned long long>(r.body_bytes), r.duration_ms);
  line += nums;
  line += r.token_id.empty() ? "-" : r.token_id;
  line += " \"";
  if (r.user_agent.empty()) {
    line += '-';
  } else {
    AppendEscaped(&line, r.user_agent);
  }
  line += "\"\n";
  return line;
}

void AccessLog::Write(const AccessRecord& r) {
  if (!enabled()) return;
  std::string line = Format(r);
  std::lock_guard lock(mu_);
  const int fd = fd_.load();
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not take the server down; the line is lost
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace wisp::server
