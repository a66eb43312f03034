#include "native/common/chunker.h"

#include <algorithm>
#include <array>

#include "native/common/util.h"

namespace wisp::common {

namespace {

// Cut where the top bits of the rolling hash are all zero. The hash is (h << 1) + gear[byte]
// modulo 2^32, so its top bits depend on the last 32 bytes (its low bits only on the last few,
// which is why the masks take the top ones). Before kChunkAvgSize the mask has 18 bits (a cut is
// rarer), after it 14 (a cut is likelier): FastCDC's normalized chunking, which keeps sizes close
// to the average.
constexpr uint32_t kMaskBeforeAvg = 0xFFFFC000u;  // 18 bits
constexpr uint32_t kMaskAfterAvg = 0xFFFC0000u;   // 14 bits

std::array<uint32_t, 256> MakeGearTable() {
  std::array<uint32_t, 256> t{};
  uint64_t state = kGearSeed;
  for (uint32_t& g : t) {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    g = static_cast<uint32_t>(z >> 32);
  }
  return t;
}

// The length of the chunk that starts at `p` with `n` bytes left.
uint64_t CutPoint(const unsigned char* p, uint64_t n, const uint32_t* gear) {
  if (n <= kChunkMinSize) return n;
  const uint64_t end = std::min(n, kChunkMaxSize);
  const uint64_t normal = std::min(end, kChunkAvgSize);
  uint32_t h = 0;
  uint64_t i = kChunkMinSize;  // the first kChunkMinSize bytes are not hashed
  for (; i < normal; ++i) {
    h = (h << 1) + gear[p[i]];
    if ((h & kMaskBeforeAvg) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    h = (h << 1) + gear[p[i]];
    if ((h & kMaskAfterAvg) == 0) return i + 1;
  }
  return end;
}

}  // namespace

const uint32_t* GearTable() {
  static const std::array<uint32_t, 256> table = MakeGearTable();
  return table.data();
}

std::vector<ChunkSpan> ChunkBoundaries(std::string_view data) {
  std::vector<ChunkSpan> spans;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const uint32_t* gear = GearTable();
  for (uint64_t off = 0; off < data.size();) {
    uint64_t len = CutPoint(p + off, data.size() - off, gear);
    spans.push_back({off, len});
    off += len;
  }
  return spans;
}

std::vector<Chunk> ChunkData(std::string_view data) {
  std::vector<Chunk> chunks;
  for (const ChunkSpan& s : ChunkBoundaries(data)) {
    chunks.push_back({s.offset, s.size, Sha256Hex(data.substr(s.offset, s.size))});
  }
  return chunks;
}

}  // namespace wisp::common
