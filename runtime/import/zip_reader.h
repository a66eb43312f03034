// Reads the central directory of a zip archive held in memory, e.g. the associated files (labels)
// that TFLite Metadata appends to a .tflite file. Every offset and size comes from the file and
// is checked before use, so a truncated or hostile archive yields an error naming the entry and
// byte offset at fault, never a read outside [data, data + size).
//
// Scope: single-disk archives without ZIP64 or encryption. The archive may follow other bytes
// (a .tflite with a zip appended): offsets are taken relative to where the central directory
// actually lies, as Python's zipfile and unzip do. Only STORED (method 0) entries can be read;
// a DEFLATED one is reported as unsupported (the runtime has no inflater: it stays OS-free and
// dependency-free). Stored contents are checked against the CRC-32 of the directory.
// Portable: no OS calls, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace wisp {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint64_t local_header_offset = 0;  // absolute, in the bytes given to ReadZipDirectory
};

struct ZipDirectory {
  std::vector<ZipEntry> entries;
  uint64_t archive_start = 0;  // absolute offset of the archive's first byte
};

// True when the last 64 KiB + 22 bytes hold an end-of-central-directory record signature.
bool HasZipEndRecord(const uint8_t* data, size_t size);

// Parses the end record and the central directory. kNotFound when there is no end record.
Result<ZipDirectory> ReadZipDirectory(const uint8_t* data, size_t size);

// Points `*out` at the stored contents of `entry` inside `data` (no copy) after checking its
// local header, bounds and CRC-32.
Status ZipEntryContents(const uint8_t* data, size_t size, const ZipEntry& entry,
                        const uint8_t** out, size_t* out_size);

// CRC-32 (ISO-HDLC, the zip and PNG checksum).
uint32_t Crc32(const uint8_t* data, size_t size);

}  // namespace wisp
