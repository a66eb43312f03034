// The requantization every quantized microkernel ends with: XNNPACK's fp32 "magic bias" epilogue,
// which is the reference arithmetic (runtime/kernels/quantization.h, RequantizeFp32) done with
// integer tricks that SIMD units have:
//   x   = f32(acc) * scale[c]
//   x   = min(max(x, qmin - zp), qmax - zp)
//   out = bits(x + 1.5 * 2^23) - (bits(1.5 * 2^23) - zp)
// Adding 1.5 * 2^23 leaves round-half-to-even(x) in the low mantissa bits for |x| < 2^22, and the
// clamp bounds of an 8-bit output lie within +-383, so the result equals RequantizeFp32 bit for
// bit. Clamping before rounding equals clamping after it because the bounds are integers.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/kernels/quantization.h"

namespace wisp {

struct QuantEpilogue {
  float min = -128.0f;  // qmin - zero_point
  float max = 127.0f;   // qmax - zero_point
  // bits(1.5 * 2^23) - zero_point, subtracted from the biased float's bits.
  int32_t magic_minus_zero_point = 0x4B400000;
  int32_t zero_point = 0;
  int32_t qmin = -128;
  int32_t qmax = 127;
};

inline QuantEpilogue MakeQuantEpilogue(int32_t zero_point, int32_t qmin, int32_t qmax) {
  QuantEpilogue e;
  e.min = static_cast<float>(qmin - zero_point);
  e.max = static_cast<float>(qmax - zero_point);
  e.magic_minus_zero_point = 0x4B400000 - zero_point;
  e.zero_point = zero_point;
  e.qmin = qmin;
  e.qmax = qmax;
  return e;
}

constexpr float kMagicBias = 12582912.0f;  // 1.5 * 2^23, bits 0x4B400000

// One output, the way the SIMD epilogues compute it lane by lane.
inline int32_t RequantizeMagic(int32_t acc, float scale, const QuantEpilogue& e) {
  float x = static_cast<float>(acc) * scale;
  x = x < e.min ? e.min : x;
  x = x > e.max ? e.max : x;
  x += kMagicBias;
  int32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits - e.magic_minus_zero_point;
}

}  // namespace wisp
