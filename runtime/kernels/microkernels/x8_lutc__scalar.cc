// Per-channel byte lookup (lut.h) in portable C++. Three channels (x - mean[c] on RGB) are
// unrolled per pixel; other counts walk one channel at a time over a block of rows, so that the
// inner loop keeps one table and the block stays in L1. No SIMD form beats this for a handful of
// tables: every lane would need its own.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

void LutChannels(size_t rows, size_t channels, const uint8_t* input, uint8_t* output,
                 const uint8_t* tables) {
  if (channels == 3) {
    const uint8_t* t0 = tables;
    const uint8_t* t1 = tables + 256;
    const uint8_t* t2 = tables + 512;
    for (size_t r = 0; r < rows; ++r, input += 3, output += 3) {
      const uint8_t y0 = t0[input[0]];
      const uint8_t y1 = t1[input[1]];
      const uint8_t y2 = t2[input[2]];
      output[0] = y0;
      output[1] = y1;
      output[2] = y2;
    }
    return;
  }
  constexpr size_t kBlockBytes = 4096;
  const size_t block_rows = std::max<size_t>(1, kBlockBytes / channels);
  for (size_t r0 = 0; r0 < rows; r0 += block_rows) {
    const size_t nr = std::min(block_rows, rows - r0);
    const uint8_t* in = input + r0 * channels;
    uint8_t* out = output + r0 * channels;
    for (size_t c = 0; c < channels; ++c) {
      const uint8_t* t = tables + 256 * c;
      const uint8_t* x = in + c;
      uint8_t* y = out + c;
      size_t r = 0;
      for (; r + 4 <= nr; r += 4) {
        const uint8_t y0 = t[x[0]], y1 = t[x[channels]];
        const uint8_t y2 = t[x[2 * channels]], y3 = t[x[3 * channels]];
        y[0] = y0, y[channels] = y1, y[2 * channels] = y2, y[3 * channels] = y3;
        x += 4 * channels;
        y += 4 * channels;
      }
      for (; r < nr; ++r, x += channels, y += channels) *y = t[*x];
    }
  }
}

}  // namespace

const LutChannelsKernelInfo kX8LutcScalar = {"x8_lutc__scalar", LutChannels};

}  // namespace wisp
