// Quantized elementwise multiplication (MUL of two same-shaped int8/uint8 tensors), XNNPACK's vmul
// arithmetic, which the reference runtime's delegate uses (docs/arithmetic.md section 3.3):
//   out = clamp(round_half_even(f32((a - a_zp) * (b - b_zp)) * scale) + out_zp, qmin, qmax)
// The product is exact in int32 and in float (|product| <= 255 * 255 < 2^24); the requantization
// is quant_epilogue.h's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

struct QMulParams {
  int32_t a_zero_point = 0;
  int32_t b_zero_point = 0;
  float scale = 1.0f;  // f32(f32(s_a * s_b) / s_out)
  QuantEpilogue epilogue;
};

using QVmulFn = void (*)(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out,
                         const QMulParams* params);

struct VmulKernelInfo {
  const char* name;  // e.g. "q8_vmul_16__wasmsimd"
  QVmulFn qs8;
  QVmulFn qu8;
};

}  // namespace wisp
