// Integer arithmetic shared by the quantized kernels. Two families coexist on purpose, because
// the reference runtime mixes them and our outputs must match it bit for bit:
//  * XNNPACK-style fp32 requantization (conv, depthwise, fully connected, ...): the int32
//    accumulator is scaled in float and rounded half-to-even.
//  * TFLite's fixed-point multipliers (QuantizeMultiplier / MultiplyByQuantizedMultiplier) for
//    the kernels that TFLite itself runs.
// See docs/arithmetic.md for which operator uses which, with sources.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "runtime/format/schema.h"

namespace wisp {

// ---- XNNPACK-style fp32 requantization -------------------------------------------------------

struct Fp32Requant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = -128;  // already include the fused activation
  int32_t qmax = 127;
};

// x rounded half to even, as std::nearbyint in the default rounding mode (up to the sign of a
// zero result, which the integer conversions after it cannot see). Below 2^22 in magnitude,
// adding and subtracting 1.5 * 2^23 does exactly that (the sum has no fraction bits left)
// without a library call; anything larger takes the library path.
static_assert(FLT_EVAL_METHOD == 0, "RoundHalfToEven needs float arithmetic in float precision");
inline float RoundHalfToEven(float x) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  if (std::fabs(x) < 4194304.0f) return (x + kMagic) - kMagic;
  return std::nearbyint(x);
}

// round-half-to-even(clamp(acc * scale)) + zero_point, as XNNPACK's *_minmax_fp32 kernels compute
// it (magic-bias, lrintf and cvtps2dq variants all round half to even).
inline int32_t RequantizeFp32(int32_t acc, const Fp32Requant& p) {
  float x = static_cast<float>(acc) * p.scale;
  const float lo = static_cast<float>(p.qmin - p.zero_point);
  const float hi = static_cast<float>(p.qmax - p.zero_point);
  x = std::min(std::max(x, lo), hi);
  return static_cast<int32_t>(RoundHalfToEven(x)) + p.zero_point;
}

// ---- TFLite fixed point ----------------------------------------------------------------------

// Splits a positive real multiplier into a Q31 mantissa and a power-of-two exponent.
void QuantizeMultiplier(double multiplier, int32_t* quantized_multiplier, int* shift);

inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const int32_t ab_x2_high32 = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : ab_x2_high32;
}

// Rounds half away from zero.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// int32 arithmetic that wraps, as TFLite's int32 accumulations do on every target: a hostile
// bias or zero point near the int32 limits must give a defined (if meaningless) answer, never
// undefined behaviour, and a real model never comes near the limits.
inline int32_t WrappingAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t WrappingMul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}

// TFLite's default (double-rounding) MultiplyByQuantizedMultiplier.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t quantized_multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return RoundingDivideByPOT(
      SaturatingRoundingDoublingHighMul(
          static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift), quantized_multiplier),
      right_shift);
}

// ---- Fused activations -----------------------------------------------------------------------

struct QuantRange {
  int32_t min;
  int32_t max;
};

// TFLite's CalculateActivationRangeQuantized: bounds are zero_point + round(real / scale),
// rounding half away from zero, intersected with the dtype range [qmin, qmax].
QuantRange ActivationRangeTflite(fb::Activation act, float scale, int32_t zero_point, int32_t qmin,
                                 int32_t qmax);

// XNNPACK's delegate path: the activation bounds are real numbers quantized with
// lrintf(value / scale + zero_point) (half to even, in float), clamped to [qmin, qmax].
QuantRange ActivationRangeXnnpack(fb::Activation act, float scale, int32_t zero_point, int32_t qmin,
                                  int32_t qmax);

// Float activation bounds (-inf/+inf when none).
void ActivationRangeFloat(fb::Activation act, float* lo, float* hi);

}  // namespace wisp
