// Reference QUANTIZE / DEQUANTIZE arithmetic.
//
// float -> int8/uint8 and same-type requantization run in XNNPACK in the reference runtime
// (docs/arithmetic.md section 7.1-7.2); float -> int16, int8 <-> uint8 and scale ratios outside
// XNNPACK's range run in TFLite's quantize.cc (section 7.3).
#include <cmath>
#include <cstring>

#include "runtime/kernels/elementwise_util.h"

namespace wisp {

namespace {
inline int32_t Clamp(int32_t v, int32_t lo, int32_t hi) { return std::min(std::max(v, lo), hi); }
}  // namespace

int32_t QuantizeXnnpack(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax) {
  // f32-qs8-vcvt (magic-bias variant): multiply by the rounded reciprocal, round half to even.
  float y = x * inv_scale;
  if (std::isnan(y)) return qmax;  // NaN's bit pattern lands above the magic-bias window
  y = std::min(std::max(y, static_cast<float>(qmin - zp)), static_cast<float>(qmax - zp));
  return static_cast<int32_t>(std::nearbyint(y)) + zp;
}

int32_t QuantizeTflite(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  // optimized_ops::AffineQuantize (the kernel TFLite's quantize.cc runs): the scale is widened to
  // double before dividing, then TfLiteRound (half away from zero). A float division would round
  // e.g. -1785.49996 to -1785.5 first; LiteRT.js agrees with the double form (checked).
  const double y = std::round(static_cast<double>(x) / static_cast<double>(scale));
  if (std::isnan(y)) return Clamp(zp, qmin, qmax);
  if (y >= static_cast<double>(qmax - zp)) return qmax;
  if (y <= static_cast<double>(qmin - zp)) return qmin;
  return Clamp(static_cast<int32_t>(y) + zp, qmin, qmax);
}

bool MakeXnnRequantParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                          int32_t qmin, int32_t qmax, XnnRequantParams* p) {
  // xnn_init_qs8_cvt_scalar_params; the delegate requires the ratio in [2^-8, 2^7].
  const float ratio = in_scale / out_scale;
  if (!(ratio >= 0x1.0p-8f && ratio <= 0x1.0p+7f)) return false;
  p->multiplier = static_cast<int32_t>(std::lrintf(256.0f * ratio));
  p->input_zero_point = in_zp;
  p->output_zero_point = out_zp;
  p->qmin = qmin;
  p->qmax = qmax;
  return true;
}

int32_t RequantizeXnnpack(int32_t x, const XnnRequantParams& p) {
  // qs8-vcvt: asr((zo << 8) + 0x80 + (x - zi) * M, 8); the wasmsimd q15mulr form is identical.
  const int32_t acc = p.output_zero_point * 256 + 0x80 + (x - p.input_zero_point) * p.multiplier;
  return Clamp(acc >> 8, p.qmin, p.qmax);
}

void MakeTfliteRequantParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                             int32_t qmin, int32_t qmax, TfliteRequantParams* p) {
  // kernels/quantize.cc: effective scale in double from the float scales.
  const double effective = static_cast<double>(in_scale) / static_cast<double>(out_scale);
  QuantizeMultiplier(effective, &p->multiplier, &p->shift);
  p->input_zero_point = in_zp;
  p->output_zero_point = out_zp;
  p->qmin = qmin;
  p->qmax = qmax;
}

int32_t RequantizeTflite(int32_t x, const TfliteRequantParams& p) {
  const int32_t v = MultiplyByQuantizedMultiplier(x - p.input_zero_point, p.multiplier, p.shift) +
                    p.output_zero_point;
  return Clamp(v, p.qmin, p.qmax);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace wisp
