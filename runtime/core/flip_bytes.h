// Flipping the sign bit of bytes: int8 x <-> the unsigned byte x + 128 (and uint8 <-> int8 with
// zero points 128 apart). Kernels whose inputs must be unsigned bytes flip them, QUANTIZE between
// uint8 and int8 of the same scale is exactly this, and so is an int8 tensor made from pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wisp {

// dst = src with every byte's top bit flipped, 16 bytes at a time (one vector XOR where the
// target has 128-bit vectors: SSE2, WebAssembly SIMD128), then 8, then one.
inline void FlipBytes(const uint8_t* src, size_t n, uint8_t* dst) {
  typedef uint8_t Bytes16 __attribute__((vector_size(16)));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Bytes16 v;
    std::memcpy(&v, src + i, 16);
    v ^= 0x80;
    std::memcpy(dst + i, &v, 16);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, src + i, 8);
    v ^= 0x8080808080808080ull;
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ 0x80);
}

}  // namespace wisp
