// Conversions between float32 and 8-bit quantized values (QUANTIZE f32 -> int8/uint8 and
// DEQUANTIZE int8/uint8 -> f32 with one scale and zero point), XNNPACK's arithmetic, which the
// reference runtime's delegate runs (docs/arithmetic.md sections 7.1 and 7.4):
//   quantize:   q = clamp(round_half_even(x * inv_scale) + zp, qmin, qmax), inv_scale = f32(1/s);
//               NaN -> qmax (QuantizeXnnpack in runtime/kernels/reference/quantize.cc)
//   dequantize: y = f32(q - zp) * scale
// The quantize kernels round with the magic-bias epilogue of quant_epilogue.h, clamping the upper
// bound first so that NaN lands on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

// n floats -> n bytes; `epilogue` from MakeQuantEpilogue(zero_point, qmin, qmax).
using QuantizeF32Fn = void (*)(size_t n, const float* input, uint8_t* output, float inv_scale,
                               const QuantEpilogue* epilogue);
// n bytes -> n floats.
using DequantizeF32Fn = void (*)(size_t n, const uint8_t* input, float* output, int32_t zero_point,
                                 float scale);

struct QuantizeKernelInfo {
  const char* name;  // e.g. "f32_q8_cvt_16__wasmsimd"
  QuantizeF32Fn qs8;
  QuantizeF32Fn qu8;
};

struct DequantizeKernelInfo {
  const char* name;  // e.g. "q8_f32_cvt_16__wasmsimd"
  DequantizeF32Fn qs8;
  DequantizeF32Fn qu8;
};

// One value, as every variant computes it lane by lane.
inline int32_t QuantizeMagic(float x, float inv_scale, const QuantEpilogue& e) {
  float y = x * inv_scale;
  y = y < e.max ? y : e.max;  // NaN compares false: takes the upper bound
  y = y > e.min ? y : e.min;
  y += kMagicBias;
  int32_t bits;
  std::memcpy(&bits, &y, sizeof(bits));
  return bits - e.magic_minus_zero_point;
}

}  // namespace wisp
