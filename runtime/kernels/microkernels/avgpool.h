// Quantized average pooling over one window (AVERAGE_POOL_2D int8/uint8), TFLite's arithmetic
// (the reference runtime's delegate does not take quantized average pooling; docs/arithmetic.md
// section 4.2 and runtime/kernels/reference/pooling.cc):
//   acc = sum of the raw values over the in-bounds taps (exact)
//   out = clamp((acc > 0 ? acc + count / 2 : acc - count / 2) / count, qmin, qmax)
// with C's truncating division, i.e. the mean rounded half away from zero. The SIMD kernels divide
// in float and truncate, which is exact while the numerator n = acc +- count / 2 stays below 2^24
// in magnitude: n is then exact in float, the rounded quotient is within half an ulp of n / count,
// i.e. within |n| / (count * 2^24) < 1 / count, and a non-integer quotient lies at least 1 / count
// from the next integer, so truncation is unaffected. Callers keep the window (and so the count)
// within kAvgPoolMaxCount taps: 255 * 65536 + 32768 < 2^24.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

constexpr int32_t kAvgPoolMaxCount = 65536;

struct AvgPoolParams {
  int32_t count = 1;  // in-bounds taps of this window, 1..kAvgPoolMaxCount
  int32_t qmin = -128;
  int32_t qmax = 127;
};

// One output pixel: the window is window_h x window_w pixels of `channels` bytes each, pixel
// (y, x) at input + y * row_stride + x * channels; channels bytes out.
using QAvgPoolFn = void (*)(size_t window_h, size_t window_w, size_t channels, const uint8_t* input,
                            size_t row_stride, uint8_t* output, const AvgPoolParams* params);

struct AvgPoolKernelInfo {
  const char* name;  // e.g. "q8_avgpool_16c__wasmsimd"
  QAvgPoolFn qs8;
  QAvgPoolFn qu8;
};

// One channel's sum over the window (raw values), as the scalar kernel and the SIMD kernels' last
// channels compute it.
template <typename T>
inline int32_t AvgPoolChannelSum(size_t window_h, size_t window_w, size_t channels,
                                 const uint8_t* input, size_t row_stride, size_t c) {
  int32_t acc = 0;
  for (size_t y = 0; y < window_h; ++y) {
    const T* row = reinterpret_cast<const T*>(input + y * row_stride) + c;
    for (size_t x = 0; x < window_w; ++x) acc += row[x * channels];
  }
  return acc;
}

// The rounding division and clamp, as every variant computes it lane by lane.
inline int32_t AvgPoolRound(int32_t acc, const AvgPoolParams& p) {
  const int32_t v = acc > 0 ? (acc + p.count / 2) / p.count : (acc - p.count / 2) / p.count;
  return v < p.qmin ? p.qmin : (v > p.qmax ? p.qmax : v);
}

}  // namespace wisp
