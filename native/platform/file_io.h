#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace wisp {

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path);
Result<std::string> ReadFileText(const std::string& path);
// Writes via a temporary file in the same directory, fsync, rename, fsync of the directory: a
// crash leaves either the old file or the new one, never a torn one.
Status WriteFileAtomic(const std::string& path, const void* data, size_t size);
Status MakeDirectories(const std::string& path);

}  // namespace wisp
