#include "runtime/import/zip_reader.h"

#include "runtime/util/little_endian.h"

namespace wisp {
namespace {

constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kEndRecordBytes = 22;
constexpr size_t kCentralHeaderBytes = 46;
constexpr size_t kLocalHeaderBytes = 30;
constexpr size_t kMaxCommentBytes = 0xffff;

bool Within(uint64_t offset, uint64_t bytes, uint64_t limit) {
  return offset <= limit && bytes <= limit - offset;
}

// Offset of the last end record whose comment fits in the file, or size when there is none.
size_t FindEndRecord(const uint8_t* data, size_t size) {
  if (size < kEndRecordBytes) return size;
  const size_t lowest =
      size - kEndRecordBytes > kMaxCommentBytes ? size - kEndRecordBytes - kMaxCommentBytes : 0;
  for (size_t pos = size - kEndRecordBytes + 1; pos-- > lowest;) {
    if (ReadLe32(data + pos) != kEndSignature) continue;
    if (pos + kEndRecordBytes + ReadLe16(data + pos + 20) <= size) return pos;
  }
  return size;
}

std::string EntryName(const uint8_t* p, size_t n) {
  std::string name;
  for (size_t i = 0; i < n && name.size() < 256; ++i) {
    const char c = static_cast<char>(p[i]);
    name += (p[i] >= 0x20 && p[i] < 0x7f) ? c : '?';
  }
  return name;
}

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size) {
  struct Table {
    uint32_t v[256];
    Table() {
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        v[i] = c;
      }
    }
  };
  static const Table table;  // thread-safe initialisation
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) crc = table.v[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

bool HasZipEndRecord(const uint8_t* data, size_t size) { return FindEndRecord(data, size) < size; }

Result<ZipDirectory> ReadZipDirectory(const uint8_t* data, size_t size) {
  const size_t end = FindEndRecord(data, size);
  if (end >= size) return NotFound("no zip end-of-central-directory record");
  const uint8_t* e = data + end;
  const uint16_t disk = ReadLe16(e + 4), cd_disk = ReadLe16(e + 6);
  const uint16_t entries_here = ReadLe16(e + 8), entries = ReadLe16(e + 10);
  const uint32_t cd_size = ReadLe32(e + 12), cd_offset = ReadLe32(e + 16);
  if (disk != 0 || cd_disk != 0 || entries_here != entries) {
    return Unsupported("zip end record at byte %zu describes a multi-disk archive", end);
  }
  if (entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    return Unsupported("zip end record at byte %zu: ZIP64 archives are not read", end);
  }
  if (cd_size > end || cd_offset > end - cd_size) {
    return InvalidModel(
        "zip end record at byte %zu: central directory (offset %u, %u bytes) does not fit "
        "before it",
        end, cd_offset, cd_size);
  }
  ZipDirectory dir;
  const size_t cd_start = end - cd_size;
  // Bytes before the archive (the .tflite itself): offsets in the directory are relative to them.
  dir.archive_start = cd_start - cd_offset;
  size_t pos = cd_start;
  for (uint32_t i = 0; i < entries; ++i) {
    if (!Within(pos, kCentralHeaderBytes, end) || ReadLe32(data + pos) != kCentralSignature) {
      return InvalidModel("zip central directory entry %u at byte %zu: bad or truncated header", i,
                          pos);
    }
    const uint8_t* h = data + pos;
    const size_t name_len = ReadLe16(h + 28), extra_len = ReadLe16(h + 30),
                 comment_len = ReadLe16(h + 32);
    const size_t record = kCentralHeaderBytes + name_len + extra_len + comment_len;
    if (!Within(pos, record, end)) {
      return InvalidModel(
          "zip central directory entry %u at byte %zu: name/extra/comment run past the "
          "directory end (byte %zu)",
          i, pos, end);
    }
    ZipEntry entry;
    entry.name = EntryName(h + kCentralHeaderBytes, name_len);
    entry.flags = ReadLe16(h + 8);
    entry.method = ReadLe16(h + 10);
    entry.crc32 = ReadLe32(h + 16);
    entry.compressed_size = ReadLe32(h + 20);
    entry.size = ReadLe32(h + 24);
    const uint32_t local = ReadLe32(h + 42);
    if (entry.compressed_size == 0xffffffffu || entry.size == 0xffffffffu || local == 0xffffffffu) {
      return Unsupported("zip entry '%s': ZIP64 sizes are not read", entry.name.c_str());
    }
    if (local > cd_start - dir.archive_start) {
      return InvalidModel("zip entry '%s': local header offset %u lies past the directory",
                          entry.name.c_str(), local);
    }
    entry.local_header_offset = dir.archive_start + local;
    dir.entries.push_back(std::move(entry));
    pos += record;
  }
  return dir;
}

Status ZipEntryContents(const uint8_t* data, size_t size, const ZipEntry& entry,
                        const uint8_t** out, size_t* out_size) {
  *out = nullptr;
  *out_size = 0;
  const char* name = entry.name.c_str();
  if (entry.flags & 1) return Unsupported("zip entry '%s' is encrypted", name);
  if (entry.method != 0) {
    return Unsupported(
        "zip entry '%s' is compressed (method %u%s); only stored (uncompressed) entries are read",
        name, entry.method, entry.method == 8 ? ", deflate" : "");
  }
  if (entry.compressed_size != entry.size) {
    return InvalidModel("zip entry '%s' is stored but its sizes differ (%llu vs %llu bytes)", name,
                        static_cast<unsigned long long>(entry.compressed_size),
                        static_cast<unsigned long long>(entry.size));
  }
  const uint64_t at = entry.local_header_offset;
  if (!Within(at, kLocalHeaderBytes, size) || ReadLe32(data + at) != kLocalSignature) {
    return InvalidModel("zip entry '%s': no local header at byte %llu", name,
                        static_cast<unsigned long long>(at));
  }
  const uint64_t start =
      at + kLocalHeaderBytes + ReadLe16(data + at + 26) + ReadLe16(data + at + 28);
  if (!Within(start, entry.size, size)) {
    return InvalidModel(
        "zip entry '%s': %llu bytes at byte %llu run past the end of the %zu-byte "
        "file",
        name, static_cast<unsigned long long>(entry.size), static_cast<unsigned long long>(start),
        size);
  }
  const uint8_t* p = data + start;
  const size_t n = static_cast<size_t>(entry.size);
  const uint32_t crc = Crc32(p, n);
  if (crc != entry.crc32) {
    return InvalidModel("zip entry '%s': CRC-32 %08x does not match the directory's %08x", name,
                        crc, entry.crc32);
  }
  *out = p;
  *out_size = n;
  return Status::Ok();
}

}  // namespace wisp
