// The one set of file helpers for native/ (CLI, client, server): whole-file reads and crash-safe
// writes, each returning a Status with a message naming the file and the system's reason. A full
// disk or quota (ENOSPC, EDQUOT) is kResourceExhausted, a missing file kNotFound, anything else
// kIoError.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace wisp {

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path);
Result<std::string> ReadFileText(const std::string& path);

// Writes via a temporary file in the same directory (".tmp-<name>-<unique>", so start-up
// recovery can recognise leftovers), fsync, rename, fsync of the directory: a crash leaves
// either the old file or the new one, never a torn one.
Status WriteFileAtomic(const std::string& path, std::string_view data);
Status WriteFileAtomic(const std::string& path, const void* data, size_t size);
// Writes and fsyncs a file at `path` (no rename); for temporary files renamed later.
Status WriteFileSynced(const std::string& path, std::string_view data);
Status FsyncPath(const std::string& path);  // a file or a directory
Status FsyncParentDir(const std::string& path);
// rename(2) followed by an fsync of the destination's directory.
Status RenameDurable(const std::string& from, const std::string& to);
// mkdir -p (no fsync).
Status MakeDirectories(const std::string& path);
// mkdir -p, fsyncing the parent of each directory it creates.
Status MakeDirsDurable(const std::string& path);

}  // namespace wisp
