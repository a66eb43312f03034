#include "native/platform/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace wisp {
namespace {

namespace fs = std::filesystem;

// A Status for the failed system call `what` on `path`, from errno.
Status Errno(const char* what, const std::string& path) {
  const int err = errno;
  std::string message = std::string("cannot ") + what + " '" + path + "': " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status(StatusCode::kResourceExhausted, message);
  if (err == ENOENT) return Status(StatusCode::kNotFound, message);
  return Status(StatusCode::kIoError, message);
}

template <typename Container>
Status ReadInto(const std::string& path, Container* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  // The size is a hint (files in /proc say 0, a file may grow): read until end of file.
  out->resize(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 4096);
  size_t done = 0;
  for (;;) {
    if (done == out->size()) out->resize(out->size() * 2);
    const ssize_t n = ::read(fd, out->data() + done, out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out->resize(done);
  return Status::Ok();
}

std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path) {
  std::vector<uint8_t> out;
  WISP_RETURN_IF_ERROR(ReadInto(path, &out));
  return out;
}

Result<std::string> ReadFileText(const std::string& path) {
  std::string out;
  WISP_RETURN_IF_ERROR(ReadInto(path, &out));
  return out;
}

Status WriteFileSynced(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Errno("write", path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("fsync", path);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return Errno("close", path);
  return Status::Ok();
}

Status FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  Status s = ::fsync(fd) == 0 ? Status::Ok() : Errno("fsync", path);
  ::close(fd);
  return s;
}

Status FsyncParentDir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return FsyncPath(parent.empty() ? "." : parent.string());
}

Status RenameDurable(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename to", to);
  return FsyncParentDir(to);
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  fs::path p(path);
  const std::string tmp =
      (p.parent_path() / (".tmp-" + p.filename().string() + "-" + UniqueSuffix())).string();
  Status s = WriteFileSynced(tmp, data);
  if (s.ok()) s = RenameDurable(tmp, path);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status WriteFileAtomic(const std::string& path, const void* data, size_t size) {
  return WriteFileAtomic(path, std::string_view(static_cast<const char*>(data), size));
}

Status MakeDirectories(const std::string& path) {
  std::error_code ec;
  if (path.empty() || fs::is_directory(path, ec)) return Status::Ok();
  fs::create_directories(path, ec);
  if (ec) return IoError("cannot create directory '%s': %s", path.c_str(), ec.message().c_str());
  return Status::Ok();
}

Status MakeDirsDurable(const std::string& path) {
  std::vector<fs::path> created;
  for (fs::path cur = path; !cur.empty() && !fs::exists(cur); cur = cur.parent_path()) {
    created.push_back(cur);
    if (cur == cur.parent_path()) break;
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) return Errno("create directory", *it);
    WISP_RETURN_IF_ERROR(FsyncParentDir(it->string()));
  }
  return Status::Ok();
}

}  // namespace wisp
