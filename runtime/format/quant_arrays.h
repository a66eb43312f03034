// A tensor's quantization arrays as model files store them (TFLite and .wisp alike: float scales,
// int64 zero points), copied out and checked entry by entry.
//
// Out of line (runtime/core/noinline.h): a model load walks some 20 000 per-channel entries, and
// inlined into the importer or Model::Validate this loop had V8 recompile those whole functions
// (40-60 ms of background compile each in a browser's cold start) for work they do once.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wisp {

// A quantization scale a model may carry: positive and finite.
inline bool ValidQuantScale(float s) { return std::isfinite(s) && s > 0.0f; }

// Zero point i of a model file's int64 array (its FlatBuffers vector's bytes). Read byte-wise:
// FlatBuffers 2.0's verifier checks only the 4-byte alignment of a vector's length, so a hostile
// file can put an int64 array at 4 mod 8, where an int64_t load is undefined behaviour.
inline int64_t ZeroPointAt(const uint8_t* zero_points, size_t i) {
  int64_t zp;
  std::memcpy(&zp, zero_points + i * sizeof zp, sizeof zp);
  return zp;
}

// Copies n scales and zero points (zero_points, ZeroPointAt's bytes, may be null: all zero) to
// scale_out and zp_out. Returns n, or the index of the first entry whose scale fails
// ValidQuantScale or whose zero point lies outside [zp_min, zp_max] (entries from there on are not
// copied). The arrays are read in place: FlatBuffers stores them little-endian, as every target
// Wisp builds for is (static_assert in quant_arrays.cc).
size_t CopyQuantArrays(const float* scales, const uint8_t* zero_points, size_t n, int64_t zp_min,
                       int64_t zp_max, float* scale_out, int32_t* zp_out);

}  // namespace wisp
