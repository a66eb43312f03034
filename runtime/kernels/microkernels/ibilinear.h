// Quantized bilinear interpolation of one output row (RESIZE_BILINEAR int8/uint8), XNNPACK's
// ibilinear arithmetic, which the reference runtime's delegate uses (docs/arithmetic.md section
// 8.2; runtime/kernels/reference/resize.cc builds the Q11 weights):
//   top    = tl * 2^11 + (tr - tl) * alpha_h
//   bottom = bl * 2^11 + (br - bl) * alpha_h
//   acc    = top * 2^11 + (bottom - top) * alpha_v
//   out    = (acc + 2^21) >> 22   (arithmetic shift: round half up)
// with alpha_h, alpha_v in [0, 2048]. Every intermediate fits int32 (|acc| <= 255 * 2^22).
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

// One output column: the byte offsets of its left and right input pixels within an input row
// (column index * channels) and its horizontal weight.
struct IbilinearColumn {
  uint32_t left = 0;
  uint32_t right = 0;
  int32_t alpha = 0;  // Q11
};

// `width` output pixels of `channels` bytes: pixel p interpolates top/bottom rows at
// columns[p].left / .right with columns[p].alpha and the row weight alpha_v (Q11).
using QIbilinearRowFn = void (*)(size_t width, size_t channels, const uint8_t* top,
                                 const uint8_t* bottom, const IbilinearColumn* columns,
                                 int32_t alpha_v, uint8_t* output);

struct IbilinearKernelInfo {
  const char* name;  // e.g. "q8_ibilinear_8c__wasmsimd"
  QIbilinearRowFn qs8;
  QIbilinearRowFn qu8;
};

// One value, as every variant computes it.
inline int32_t IbilinearValue(int32_t tl, int32_t tr, int32_t bl, int32_t br, int32_t alpha_h,
                              int32_t alpha_v) {
  const int32_t top = tl * 2048 + (tr - tl) * alpha_h;
  const int32_t bottom = bl * 2048 + (br - bl) * alpha_h;
  const int32_t acc = top * 2048 + (bottom - top) * alpha_v;
  return (acc + (1 << 21)) >> 22;
}

// Channels [c0, channels) of one output pixel, as the scalar kernel and the SIMD kernels' last
// channels compute them; returns the output advanced past them.
template <typename T>
inline uint8_t* IbilinearChannels(size_t c0, size_t channels, const uint8_t* top_left,
                                  const uint8_t* top_right, const uint8_t* bottom_left,
                                  const uint8_t* bottom_right, int32_t alpha_h, int32_t alpha_v,
                                  uint8_t* output) {
  const T* tl = reinterpret_cast<const T*>(top_left);
  const T* tr = reinterpret_cast<const T*>(top_right);
  const T* bl = reinterpret_cast<const T*>(bottom_left);
  const T* br = reinterpret_cast<const T*>(bottom_right);
  T* out = reinterpret_cast<T*>(output);
  for (size_t c = c0; c < channels; ++c) {
    *out++ = static_cast<T>(IbilinearValue(tl[c], tr[c], bl[c], br[c], alpha_h, alpha_v));
  }
  return reinterpret_cast<uint8_t*>(out);
}

}  // namespace wisp
