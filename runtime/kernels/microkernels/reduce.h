// Quantized row-reduction microkernels: MEAN over the spatial axes of an NHWC tensor (global
// average pooling), XNNPACK's reduce-mean arithmetic:
//   out[c] = requantize(bias + sum_r x[r][c]) with one scale for every channel
// (bias = -rows * input zero point, scale = f32(f32(s_in / s_out) * f32(1 / rows))).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

// rows x channels input, row r at input + r * input_stride (bytes); channels outputs.
using QRsumFn = void (*)(size_t rows, size_t channels, const uint8_t* input, size_t input_stride,
                         int32_t bias, float scale, uint8_t* output, const QuantEpilogue* epilogue);

struct RsumKernelInfo {
  const char* name;  // e.g. "q8_rsum_16c__wasmsimd"
  QRsumFn qs8;
  QRsumFn qu8;
};

}  // namespace wisp

namespace wisp {

// ARG_MAX over the last axis of an 8-bit tensor (TFLite's rule: the first index of the maximum):
// rows of `channels` values, one index per row written as int32 or int64 (`out64`). Kernels may
// read up to 16 bytes past a row.
using Q8ArgmaxFn = void (*)(size_t rows, size_t channels, const uint8_t* input, void* output,
                            bool out64);

struct ArgmaxKernelInfo {
  const char* name;  // e.g. "q8_argmax_16__wasmsimd"
  Q8ArgmaxFn qs8;
  Q8ArgmaxFn qu8;
};

}  // namespace wisp
