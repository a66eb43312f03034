// Shared pieces of the elementwise family (binary math, activations, (de)quantize, cast): the
// broadcast plan computed once in Prepare, the quantization parameter blocks each reference kernel
// consumes, and the declarations of the reference kernels (runtime/kernels/reference/*.cc).
//
// Which arithmetic each quantized operator uses follows what the reference runtime (LiteRT.js =
// TFLite + XNNPACK delegate) actually runs; see docs/arithmetic.md and the comment at each
// parameter block.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "runtime/core/shape.h"
#include "runtime/kernels/quantization.h"

namespace wisp {

// ---- Broadcasting ----------------------------------------------------------------------------

constexpr int kMaxBroadcastRank = 8;

// NumPy/TFLite broadcast of two shapes (aligned at the innermost dimension). False when some
// dimension pair is neither equal nor contains a 1.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out);

// Iteration plan for out = f(a, b) with broadcasting. Adjacent dimensions that broadcast the same
// way are merged, so a same-shape pair becomes one flat run and a per-channel operand becomes
// (outer, channels) with no per-element index arithmetic.
struct BroadcastPlan {
  bool flat = false;  // a and b both have the output's layout: one contiguous run
  int64_t size = 0;   // output elements
  int rank = 0;       // merged dimensions (>= 1 unless flat)
  int64_t dims[kMaxBroadcastRank] = {};
  int64_t a_stride[kMaxBroadcastRank] = {};  // 0 where a is broadcast
  int64_t b_stride[kMaxBroadcastRank] = {};
};

// `out` must be the broadcast of `a` and `b` (checked by the caller with BroadcastShapes).
BroadcastPlan MakeBroadcastPlan(const Shape& a, const Shape& b, const Shape& out);

// Innermost runs of the output: one for a flat plan, else the product of the outer dimensions.
inline int64_t BroadcastRuns(const BroadcastPlan& p) {
  if (p.size == 0) return 0;
  return p.flat ? 1 : p.size / p.dims[p.rank - 1];
}

// Calls run(a_offset, a_step, b_offset, b_step, out_offset, n) for innermost runs [first, end) of
// the output (BroadcastRuns; runs are independent, so tasks may take ranges of them); steps are 0
// (broadcast) or 1.
template <typename Run>
void ForEachBroadcastRun(const BroadcastPlan& p, int64_t first, int64_t end, Run&& run) {
  if (first >= end) return;
  if (p.flat) {
    run(int64_t{0}, int64_t{1}, int64_t{0}, int64_t{1}, int64_t{0}, p.size);
    return;
  }
  const int inner = p.rank - 1;
  const int64_t n = p.dims[inner];
  const int64_t as = p.a_stride[inner] != 0 ? 1 : 0;
  const int64_t bs = p.b_stride[inner] != 0 ? 1 : 0;
  // The odometer over the outer dimensions, started at run `first`.
  int64_t idx[kMaxBroadcastRank] = {};
  int64_t a_off = 0, b_off = 0;
  for (int64_t d = inner - 1, rest = first; d >= 0; --d) {
    idx[d] = rest % p.dims[d];
    rest /= p.dims[d];
    a_off += idx[d] * p.a_stride[d];
    b_off += idx[d] * p.b_stride[d];
  }
  int64_t o_off = first * n;
  for (int64_t r = first; r < end; ++r) {
    run(a_off, as, b_off, bs, o_off, n);
    o_off += n;
    for (int d = inner - 1; d >= 0; --d) {
      ++idx[d];
      a_off += p.a_stride[d];
      b_off += p.b_stride[d];
      if (idx[d] < p.dims[d]) break;
      a_off -= p.a_stride[d] * p.dims[d];
      b_off -= p.b_stride[d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// Every innermost run of the output.
template <typename Run>
void ForEachBroadcastRun(const BroadcastPlan& p, Run&& run) {
  ForEachBroadcastRun(p, 0, BroadcastRuns(p), run);
}

// out[i] = f(a[.], b[.]) over the plan; the step-specialised loops let the compiler vectorise the
// common same-shape, scalar and per-channel cases.
template <typename TA, typename TB, typename TO, typename F>
void BroadcastBinary(const BroadcastPlan& p, const TA* a, const TB* b, TO* out, F f) {
  ForEachBroadcastRun(p,
                      [&](int64_t ao, int64_t as, int64_t bo, int64_t bs, int64_t oo, int64_t n) {
                        // A local copy of the functor: stores through a uint8_t/int8_t output may
                        // alias anything reached through a reference, which would force reloading
                        // its parameters every element and defeat vectorisation.
                        const F fn = f;
                        const TA* pa = a + ao;
                        const TB* pb = b + bo;
                        TO* po = out + oo;
                        if (as == 1 && bs == 1) {
                          for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], pb[i]);
                        } else if (as == 1) {
                          const TB vb = *pb;
                          for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], vb);
                        } else if (bs == 1) {
                          const TA va = *pa;
                          for (int64_t i = 0; i < n; ++i) po[i] = fn(va, pb[i]);
                        } else {
                          const TO v = fn(*pa, *pb);
                          for (int64_t i = 0; i < n; ++i) po[i] = v;
                        }
                      });
}

// ---- Binary operators ------------------------------------------------------------------------

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMaximum, kMinimum };

// XNNPACK qs8/qu8 vadd (ADD and SUB; SUB negates b's scale), docs/arithmetic.md section 3.1-3.2:
//   out = clamp(asr(bias + a_mul * a + b_mul * b, shift) + zo, qmin, qmax)
// expressed here with (a - za), (b - zb) so the int32 sum cannot overflow.
struct XnnAddParams {
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
// False when XNNPACK's delegate would refuse the scales (each input/output ratio in [2^-10, 2^8)).
bool MakeXnnAddParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                      int32_t out_zp, bool subtract, QuantRange act, XnnAddParams* p);

// TFLite's own ADD/SUB (kernels/add.cc, sub.cc: a 20-bit (8-bit types) or 15-bit (int16) left
// shift and three Q31 multipliers), used when the delegate refuses the scales and for int16.
struct TfliteAddParams {
  bool subtract = false;
  int32_t left_shift = 20;
  int32_t a_offset = 0, b_offset = 0, output_offset = 0;
  int32_t a_multiplier = 0, b_multiplier = 0, output_multiplier = 0;
  int a_shift = 0, b_shift = 0, output_shift = 0;
  int32_t qmin = -128, qmax = 127;
};
void MakeTfliteAddParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                         int32_t out_zp, bool subtract, int32_t left_shift, QuantRange act,
                         TfliteAddParams* p);

// XNNPACK qs8/qu8 vmul (fp32 requantization): out = clamp(rne(f32((a-za)(b-zb)) * scale) + zo),
// scale = f32(f32(sa * sb) / so).
struct XnnMulParams {
  int32_t a_zero_point = 0;
  int32_t b_zero_point = 0;
  Fp32Requant requant;
};
// False when the delegate would refuse it ((sa*sb)/so outside [2^-16, 2^8)).
bool MakeXnnMulParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                      int32_t out_zp, QuantRange act, XnnMulParams* p);

// TFLite's int8/uint8 MUL: clamp(MultiplyByQuantizedMultiplier((a-za)(b-zb), m, s) + zo).
struct TfliteMulParams {
  int32_t a_zero_point = 0, b_zero_point = 0, output_zero_point = 0;
  int32_t multiplier = 0;
  int shift = 0;
  int32_t qmin = -128, qmax = 127;
};
void MakeTfliteMulParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                         int32_t out_zp, QuantRange act, TfliteMulParams* p);

// Reference kernels (runtime/kernels/reference/binary_elementwise.cc).
template <typename T>
void AddSubQuantizedXnnpack(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                            const XnnAddParams& p);
template <typename T>
void AddSubQuantizedTflite(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                           const TfliteAddParams& p);
template <typename T>
void MulQuantizedXnnpack(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                         const XnnMulParams& p);
template <typename T>
void MulQuantizedTflite(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                        const TfliteMulParams& p);
// MAXIMUM / MINIMUM on quantized values compare the raw integers (TFLite builtin; the delegate
// takes only float32 for these), so they work for any dtype.
template <typename T>
void MaxMinRaw(const BroadcastPlan& plan, const T* a, const T* b, T* out, bool maximum);
// Float: arithmetic in float32, then clamp to the fused activation range [lo, hi].
void BinaryFloat(BinaryOp op, const BroadcastPlan& plan, const float* a, const float* b, float* out,
                 float lo, float hi);
// int32 / int64: wrap-around add/sub/mul, truncating DIV, flooring FLOOR_DIV, then clamp to the
// activation range. The caller has rejected zero divisors.
template <typename T>
void BinaryInteger(BinaryOp op, const BroadcastPlan& plan, const T* a, const T* b, T* out, T lo,
                   T hi);

// ---- Unary operators -------------------------------------------------------------------------

enum class UnaryOp { kSqrt, kRelu, kRelu6, kLeakyRelu, kHardSwish, kTanh, kLogistic };

void UnaryFloat(UnaryOp op, const float* in, float* out, int64_t n, float alpha);

// XNNPACK's LUT construction for quantized LOGISTIC / TANH (section 6.1): entry for raw value q is
//   clamp(lrintf(f(f32(q - zi) * si) * f32(1/so)) + zo)
// with f evaluated as musl's libm would (emscripten build).
template <typename T>
void MakeXnnpackSigmoidTanhTable(bool tanh, float in_scale, int32_t in_zp, float out_scale,
                                 int32_t out_zp, T table[256]);

// XNNPACK qs8/qu8 LEAKY_RELU (section 6.2): Q8 multipliers, round half up.
struct XnnLeakyReluParams {
  int32_t input_zero_point = 0, output_zero_point = 0;
  int32_t positive_multiplier = 0, negative_multiplier = 0;
  int32_t qmin = -128, qmax = 127;
};
bool MakeXnnLeakyReluParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                            float alpha, int32_t qmin, int32_t qmax, XnnLeakyReluParams* p);
int32_t LeakyReluXnnpack(int32_t x, const XnnLeakyReluParams& p);

// TFLite's QuantizeLeakyRelu: identity and alpha Q31 multipliers.
struct TfliteLeakyReluParams {
  int32_t input_zero_point = 0, output_zero_point = 0;
  int32_t identity_multiplier = 0, alpha_multiplier = 0;
  int identity_shift = 0, alpha_shift = 0;
  int32_t qmin = -128, qmax = 127;
};
void MakeTfliteLeakyReluParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                               float alpha, int32_t qmin, int32_t qmax, TfliteLeakyReluParams* p);
int32_t LeakyReluTflite(int32_t x, const TfliteLeakyReluParams& p);

// TFLite's QuantizedReluX (RELU / RELU6 standalone, not delegated for int8/uint8).
struct TfliteReluParams {
  int32_t input_zero_point = 0, output_zero_point = 0;
  int32_t multiplier = 0;
  int shift = 0;
  int32_t act_min = -128, act_max = 127;
};
void MakeTfliteReluParams(bool relu6, float in_scale, int32_t in_zp, float out_scale,
                          int32_t out_zp, int32_t qmin, int32_t qmax, TfliteReluParams* p);
int32_t ReluTflite(int32_t x, const TfliteReluParams& p);

// TFLite's reference_ops::HardSwish<int8/uint8> (not delegated for quantized types).
struct TfliteHardSwishParams {
  int16_t input_zero_point = 0, output_zero_point = 0;
  int16_t reluish_multiplier_fixedpoint_int16 = 0, output_multiplier_fixedpoint_int16 = 0;
  int reluish_multiplier_exponent = 0, output_multiplier_exponent = 0;
  int32_t qmin = -128, qmax = 127;
};
bool MakeTfliteHardSwishParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                               int32_t qmin, int32_t qmax, TfliteHardSwishParams* p);
int32_t HardSwishTflite(int32_t x, const TfliteHardSwishParams& p);

// ---- Quantize / dequantize -------------------------------------------------------------------

// XNNPACK f32 -> qs8/qu8 convert (section 7.1): clamp(rne(x * f32(1/s)) + zp).
int32_t QuantizeXnnpack(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax);
// TFLite AffineQuantize (float -> int16 is not delegated):
// clamp(round_half_away(double(x) / double(s)) + zp).
int32_t QuantizeTflite(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax);

// XNNPACK qs8->qs8 / qu8->qu8 convert (section 7.2): Q8 multiplier, round half up.
struct XnnRequantParams {
  int32_t input_zero_point = 0, output_zero_point = 0, multiplier = 0;
  int32_t qmin = -128, qmax = 127;
};
bool MakeXnnRequantParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                          int32_t qmin, int32_t qmax, XnnRequantParams* p);
int32_t RequantizeXnnpack(int32_t x, const XnnRequantParams& p);

// TFLite's Requantize (kernels/quantize.cc; int8<->uint8 and out-of-range scale ratios).
struct TfliteRequantParams {
  int32_t input_zero_point = 0, output_zero_point = 0, multiplier = 0;
  int shift = 0;
  int32_t qmin = -128, qmax = 127;
};
void MakeTfliteRequantParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                             int32_t qmin, int32_t qmax, TfliteRequantParams* p);
int32_t RequantizeTflite(int32_t x, const TfliteRequantParams& p);

// IEEE half -> float.
float HalfToFloat(uint16_t h);

}  // namespace wisp
