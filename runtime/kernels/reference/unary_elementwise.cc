// Reference unary elementwise kernels: SQRT, RELU, RELU6, LEAKY_RELU, HARD_SWISH, TANH, LOGISTIC.
//
// Float math is plain float32. Quantized variants are scalar functions of one 8-bit input, so the
// kernels tabulate them into a 256-entry lookup table in Prepare; which scalar function is the
// reference's depends on who runs the op there:
//  * LOGISTIC, TANH, LEAKY_RELU: XNNPACK (LUT built in float / Q8 multipliers).
//  * RELU, RELU6, HARD_SWISH: TFLite builtin (the delegate takes these for float only).
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/core/float_to_int.h"
#include "runtime/kernels/elementwise_util.h"

namespace wisp {

namespace {

inline int32_t Clamp(int32_t v, int32_t lo, int32_t hi) { return std::min(std::max(v, lo), hi); }

// musl's tanhf (the libm of the emscripten build that produced the goldens). glibc's tanhf splits
// the range differently, so the float LUT entries could differ in the last bit.
float MuslTanhf(float x) {
  uint32_t w;
  std::memcpy(&w, &x, sizeof(w));
  const bool sign = (w >> 31) != 0;
  w &= 0x7fffffffu;
  float ax;
  std::memcpy(&ax, &w, sizeof(ax));
  float t;
  if (w > 0x3f0c9f54u) {    // |x| > log(3)/2 ~= 0.5493 or nan
    if (w > 0x41200000u) {  // |x| > 10
      t = std::isnan(ax) ? ax : 1.0f;
    } else {
      t = std::expm1(2.0f * ax);
      t = 1.0f - 2.0f / (t + 2.0f);
    }
  } else if (w > 0x3e82c578u) {  // |x| > log(5/3)/2 ~= 0.2554
    t = std::expm1(2.0f * ax);
    t = t / (t + 2.0f);
  } else if (w >= 0x00800000u) {  // |x| >= 0x1p-126
    t = std::expm1(-2.0f * ax);
    t = -t / (t + 2.0f);
  } else {
    t = ax;  // subnormal
  }
  return sign ? -t : t;
}

// XNNPACK's calculate_sigmoid (src/operators/unary-elementwise-nc.c): note the 1 - 1/(1+e^x) form
// for non-negative x.
float XnnSigmoid(float x) {
  return std::signbit(x) ? 1.0f / (1.0f + std::exp(-x)) : 1.0f - 1.0f / (1.0f + std::exp(x));
}

// gemmlowp::SaturatingRoundingDoublingHighMul for int16.
int16_t SatRoundDoublingHighMul16(int16_t a, int16_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int16_t>::min();
  const int32_t ab = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  const int16_t high = static_cast<int16_t>((ab + nudge) / (1 << 15));
  return overflow ? std::numeric_limits<int16_t>::max() : high;
}

// reference_ops::SaturatingDoublingHighMul: like the above but truncating (SQDMULH).
int16_t SatDoublingHighMul16(int16_t a, int16_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int16_t>::min();
  const int32_t ab = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  const int16_t high = static_cast<int16_t>(ab / (1 << 15));
  return overflow ? std::numeric_limits<int16_t>::max() : high;
}

int16_t SaturatingLeftShift16(int16_t value, int amount) {
  const int32_t r = static_cast<int32_t>(value) * (1 << amount);
  return static_cast<int16_t>(
      Clamp(r, std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()));
}

// gemmlowp::RoundingDivideByPOT for int16 (half away from zero).
int16_t RoundingDivideByPOT16(int16_t x, int exponent) {
  const int32_t mask = (1 << exponent) - 1;
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

// tflite::DownScaleInt32ToInt16Multiplier.
int16_t DownScaleMultiplier(int32_t m) {
  constexpr int32_t kRoundingOffset = 1 << 15;
  if (m >= std::numeric_limits<int32_t>::max() - kRoundingOffset) {
    return std::numeric_limits<int16_t>::max();
  }
  return static_cast<int16_t>((m + kRoundingOffset) >> 16);
}

}  // namespace

void UnaryFloat(UnaryOp op, const float* in, float* out, int64_t n, float alpha) {
  switch (op) {
    case UnaryOp::kSqrt:
      for (int64_t i = 0; i < n; ++i) out[i] = std::sqrt(in[i]);
      break;
    case UnaryOp::kRelu:
      for (int64_t i = 0; i < n; ++i) out[i] = std::max(in[i], 0.0f);
      break;
    case UnaryOp::kRelu6:
      for (int64_t i = 0; i < n; ++i) out[i] = std::min(std::max(in[i], 0.0f), 6.0f);
      break;
    case UnaryOp::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : in[i] * alpha;
      break;
    case UnaryOp::kHardSwish:
      // TFLite reference: x * min(6, max(0, x + 3)) / 6.
      for (int64_t i = 0; i < n; ++i) {
        out[i] = in[i] * std::min(6.0f, std::max(0.0f, in[i] + 3.0f)) / 6.0f;
      }
      break;
    case UnaryOp::kTanh:
      for (int64_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
      break;
    case UnaryOp::kLogistic:
      for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-in[i]));
      break;
  }
}

template <typename T>
void MakeXnnpackSigmoidTanhTable(bool tanh, float in_scale, int32_t in_zp, float out_scale,
                                 int32_t out_zp, T table[256]) {
  const int32_t qmin = std::numeric_limits<T>::min();
  const int32_t qmax = std::numeric_limits<T>::max();
  const float inv_output_scale = 1.0f / out_scale;
  for (int32_t i = qmin; i <= qmax; ++i) {
    const float x = static_cast<float>(i - in_zp) * in_scale;
    const float y = tanh ? MuslTanhf(x) : XnnSigmoid(x);
    const long q = std::lrintf(y * inv_output_scale) + out_zp;
    table[static_cast<uint8_t>(i)] = static_cast<T>(Clamp(static_cast<int32_t>(q), qmin, qmax));
  }
}

template void MakeXnnpackSigmoidTanhTable<int8_t>(bool, float, int32_t, float, int32_t,
                                                  int8_t[256]);
template void MakeXnnpackSigmoidTanhTable<uint8_t>(bool, float, int32_t, float, int32_t,
                                                   uint8_t[256]);

bool MakeXnnLeakyReluParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                            float alpha, int32_t qmin, int32_t qmax, XnnLeakyReluParams* p) {
  // Delegate limits (xnnpack_delegate.cc VisitLeakyReluNode).
  const float positive_scale = in_scale / out_scale;
  if (!(positive_scale >= 1.0f / 256.0f && positive_scale <= 128.0f)) return false;
  const float negative_scale = positive_scale * alpha;
  if (!(negative_scale >= -127.99609375f && negative_scale <= 128.0f &&
        std::fabs(negative_scale) >= 1.0f / 256.0f)) {
    return false;
  }
  // xnn_init_qs8_lrelu_scalar_params.
  p->positive_multiplier = static_cast<int32_t>(std::lrintf(256.0f * positive_scale));
  p->negative_multiplier = static_cast<int32_t>(std::lrintf(256.0f * negative_scale));
  p->input_zero_point = in_zp;
  p->output_zero_point = out_zp;
  p->qmin = qmin;
  p->qmax = qmax;
  return true;
}

int32_t LeakyReluXnnpack(int32_t x, const XnnLeakyReluParams& p) {
  const int32_t v = x - p.input_zero_point;
  const int32_t m = v >= 0 ? p.positive_multiplier : p.negative_multiplier;
  const int32_t acc = (p.output_zero_point * 256 + 0x80) + v * m;
  return Clamp(acc >> 8, p.qmin, p.qmax);
}

void MakeTfliteLeakyReluParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                               float alpha, int32_t qmin, int32_t qmax, TfliteLeakyReluParams* p) {
  // kernels/activations.cc LeakyReluPrepare: float expressions widened to double.
  const double alpha_multiplier = in_scale * alpha / out_scale;
  const double identity_multiplier = in_scale / out_scale;
  QuantizeMultiplier(alpha_multiplier, &p->alpha_multiplier, &p->alpha_shift);
  QuantizeMultiplier(identity_multiplier, &p->identity_multiplier, &p->identity_shift);
  p->input_zero_point = in_zp;
  p->output_zero_point = out_zp;
  p->qmin = qmin;
  p->qmax = qmax;
}

int32_t LeakyReluTflite(int32_t x, const TfliteLeakyReluParams& p) {
  const int32_t v = x - p.input_zero_point;
  const int32_t scaled =
      v >= 0 ? MultiplyByQuantizedMultiplier(v, p.identity_multiplier, p.identity_shift)
             : MultiplyByQuantizedMultiplier(v, p.alpha_multiplier, p.alpha_shift);
  return Clamp(p.output_zero_point + scaled, p.qmin, p.qmax);
}

void MakeTfliteReluParams(bool relu6, float in_scale, int32_t in_zp, float out_scale,
                          int32_t out_zp, int32_t qmin, int32_t qmax, TfliteReluParams* p) {
  // kernels/activations.cc ReluPrepare / QuantizedReluX.
  const double real_multiplier = in_scale / out_scale;
  QuantizeMultiplier(real_multiplier, &p->multiplier, &p->shift);
  p->input_zero_point = in_zp;
  p->output_zero_point = out_zp;
  p->act_min = std::max(qmin, QuantizeSaturated(0.0f / out_scale, out_zp));
  p->act_max = relu6 ? std::min(qmax, QuantizeSaturated(6.0f / out_scale, out_zp)) : qmax;
}

int32_t ReluTflite(int32_t x, const TfliteReluParams& p) {
  const int32_t v = p.output_zero_point +
                    MultiplyByQuantizedMultiplier(x - p.input_zero_point, p.multiplier, p.shift);
  return Clamp(v, p.act_min, p.act_max);
}

bool MakeTfliteHardSwishParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp,
                               int32_t qmin, int32_t qmax, TfliteHardSwishParams* p) {
  // kernels/activations.cc HardSwishPrepare.
  const float hires_input_scale = (1.0f / 128.0f) * in_scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const float output_multiplier = hires_input_scale / out_scale;
  int32_t m32;
  QuantizeMultiplier(output_multiplier, &m32, &p->output_multiplier_exponent);
  p->output_multiplier_fixedpoint_int16 = DownScaleMultiplier(m32);
  if (p->output_multiplier_exponent > 0) return false;  // TF_LITE_ENSURE in TFLite too
  const float reluish_multiplier = hires_input_scale / reluish_scale;
  QuantizeMultiplier(reluish_multiplier, &m32, &p->reluish_multiplier_exponent);
  p->reluish_multiplier_fixedpoint_int16 = DownScaleMultiplier(m32);
  p->input_zero_point = static_cast<int16_t>(in_zp);
  p->output_zero_point = static_cast<int16_t>(out_zp);
  p->qmin = qmin;
  p->qmax = qmax;
  return true;
}

int32_t HardSwishTflite(int32_t x, const TfliteHardSwishParams& p) {
  // reference_ops::HardSwish<T> (kernels/internal/reference/hard_swish.h), step for step.
  const int16_t input_value = static_cast<int16_t>(x - p.input_zero_point);
  const int16_t hires = static_cast<int16_t>(input_value * (1 << 7));
  const int16_t preshift_output_scale =
      SatRoundDoublingHighMul16(hires, p.output_multiplier_fixedpoint_int16);
  int16_t reluish = hires;
  if (p.reluish_multiplier_exponent > 0) {
    reluish = SaturatingLeftShift16(reluish, p.reluish_multiplier_exponent - 1);
  }
  reluish = SatRoundDoublingHighMul16(reluish, p.reluish_multiplier_fixedpoint_int16);
  if (p.reluish_multiplier_exponent > 0) reluish = SaturatingLeftShift16(reluish, 1);
  if (p.reluish_multiplier_exponent < 0) {
    reluish = RoundingDivideByPOT16(reluish, -p.reluish_multiplier_exponent);
  }
  reluish = static_cast<int16_t>((reluish + (1 << 15)) >> 1);
  const int16_t preshift_output = SatDoublingHighMul16(reluish, preshift_output_scale);
  int16_t out = RoundingDivideByPOT16(preshift_output, -p.output_multiplier_exponent);
  out = static_cast<int16_t>(out + p.output_zero_point);
  return Clamp(out, p.qmin, p.qmax);
}

}  // namespace wisp
