#include "tests/support/shared_data.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wisp::testing {

std::string SharedRoot() {
  const char* env = std::getenv("WISP_SHARED");
  if (env != nullptr && env[0] != '\0') return env;
  return WISP_SHARED_DEFAULT;
}

std::string SharedPath(const std::string& relative) { return SharedRoot() + "/" + relative; }

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": cannot open: " + std::strerror(err));
  }
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return IoError("%s: read error", path.c_str());
  return bytes;
}

}  // namespace wisp::testing
