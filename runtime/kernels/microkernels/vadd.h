// Quantized elementwise addition (ADD/SUB of two same-shaped int8/uint8 tensors), XNNPACK's
// vadd arithmetic, which the reference runtime's delegate uses:
//   out = clamp(((a - a_zp) * a_mult + (b - b_zp) * b_mult + rounding) >> shift + out_zp)
// with |mult| <= 2^21 so the sum fits int32 and >> rounding toward minus infinity.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

struct QAddParams {
  int32_t a_zero_point = 0;
  int32_t b_zero_point = 0;
  int32_t a_multiplier = 0;
  int32_t b_multiplier = 0;
  int32_t rounding = 0;
  uint32_t shift = 0;
  int32_t output_zero_point = 0;
  int32_t qmin = -128;
  int32_t qmax = 127;
};

using QVaddFn = void (*)(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out,
                         const QAddParams* params);

struct VaddKernelInfo {
  const char* name;  // e.g. "q8_vadd_16__wasmsimd"
  QVaddFn qs8;
  QVaddFn qu8;
};

// The same with b one value broadcast over a (a broadcast ADD / SUB): its term
// b_term = b_multiplier * (b - b_zero_point) + rounding is computed once by the caller, so
//   out = clamp(((a - a_zp) * a_mult + b_term) >> shift + out_zp)
// (the b fields of params are unused). A broadcast a swaps the roles: the sum is symmetric.
using QVaddcFn = void (*)(size_t n, const uint8_t* a, int32_t b_term, uint8_t* out,
                          const QAddParams* params);

struct VaddcKernelInfo {
  const char* name;  // e.g. "q8_vaddc_16__wasmsimd"
  QVaddcFn qs8;
  QVaddcFn qu8;
};

// One element of either form, as every variant computes it.
inline int32_t VaddValue(int32_t a, int32_t b_term, const QAddParams& p) {
  const int32_t v = ((a - p.a_zero_point) * p.a_multiplier + b_term) >> p.shift;
  const int32_t q = v + p.output_zero_point;
  return q < p.qmin ? p.qmin : (q > p.qmax ? p.qmax : q);
}

}  // namespace wisp
