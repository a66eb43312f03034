// Quantized depthwise-convolution microkernels (depth multiplier 1), unipass: every filter tap of
// a channel tile is accumulated in registers before the tile is requantized and stored.
//
// A call computes `output_width` output pixels of one output row. Pixel p reads its `taps` input
// pointers at input[p * input_stride + t] (each to the pixel's channels, or to the zero buffer
// filled with the input zero point), so adjacent pixels can share pointers (see
// convolution_windows.h), and writes `channels` values at output + p * channels.
//   out[c] = requantize(bias'[c] + sum_t x[t][c] * (w[t][c] - w_zp[c]))
// Weights are packed per channel tile (pack.h): int32 bias' (zero points folded in), the weights,
// float scales; either int16 (w - w_zp) per tap, or, for dot-product kernels, signed bytes with
// four taps of a channel side by side (the layout a relaxed dot product reads). Channel tiles
// past `channels` are computed on padding and not stored; input rows may be over-read by up to
// one tile (the arena and zero buffer allow it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

using QDwconvFn = void (*)(size_t channels, size_t output_width, size_t taps,
                           const uint8_t* const* input, size_t input_stride, const void* packed_w,
                           uint8_t* output, const QuantEpilogue* epilogue);

struct DwconvKernelInfo {
  const char* name;  // e.g. "q8_dwconv_9p16__wasmsimd"
  int channel_tile = 1;
  int taps = 0;  // 0: any number of taps; else only this many (3x3 = 9, 5x5 = 25)
  // 1: int16 weights, one tap at a time. 2: int16 weights, taps in pairs (a pair per 32-bit
  // lane, the layout pmaddwd reads). 4: the 8-bit dot-product layout, taps in groups of four
  // (pack.h), with the input shifted as input_shift says (as GemmLayout::input_shift).
  int tap_group = 1;
  int input_shift[2] = {0, 0};
  QDwconvFn qs8;
  QDwconvFn qu8;  // nullptr when the kernel cannot handle uint8 inputs
  // 128-bit lanes the kernel interleaves taps within (x86 unpacks work per lane): with L > 1 a
  // tile's channels are packed in the order those interleaves leave them (pack.h). 1: in order.
  int channel_lanes = 1;
  // tap_group 4 only: real taps per group of four slots, the rest zero weights. 3 puts each
  // column of a 3x3 filter (column-major taps) in a group of its own, so that a kernel can reuse
  // a column's interleaved inputs for the next output pixel. 0: four.
  int taps_per_group = 0;
  // int8 input already flipped (XOR 0x80) by the caller, for kernels whose int8 input shift is
  // +128 (as GemmKernelInfo::qs8_flipped_input): the caller flips the input once per invoke
  // instead of the kernel flipping every tap's vector. Null when the kernel does not flip.
  QDwconvFn qs8_flipped_input = nullptr;
};

}  // namespace wisp
