// Content-defined chunking of artifacts for delta updates ("gear64k-v1", docs/server.md, "Delta
// updates"). The server lists an artifact's chunks in its version manifest; a client holding an
// earlier version chunks that file the same way and fetches only the chunks it lacks. The
// algorithm is also implemented in web/src/chunker.mjs; both must cut at the same offsets
// (tests/client/chunker_test.cc checks them against each other).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::common {

// The name clients and servers agree on; a manifest naming another algorithm is ignored (the
// client downloads the whole artifact).
inline constexpr const char* kChunkingAlgorithm = "gear64k-v1";
inline constexpr uint64_t kChunkMinSize = 16 * 1024;
inline constexpr uint64_t kChunkAvgSize = 64 * 1024;  // where the cut condition gets easier
inline constexpr uint64_t kChunkMaxSize = 256 * 1024;

struct ChunkSpan {
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct Chunk {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sha256;  // hex
};

// The 256-entry gear table: the upper 32 bits of the first 256 outputs of splitmix64 seeded with
// kGearSeed.
inline constexpr uint64_t kGearSeed = 0x7769737067656172ULL;  // "wispgear"
const uint32_t* GearTable();

// The chunk boundaries of `data`, in order, covering it exactly (none for empty data).
std::vector<ChunkSpan> ChunkBoundaries(std::string_view data);
// The same with each chunk's sha256.
std::vector<Chunk> ChunkData(std::string_view data);

}  // namespace wisp::common
