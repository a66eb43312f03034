// 16-bit fixed-point sigmoid and tanh exactly as gemmlowp's fixedpoint.h computes them for
// std::int16_t raw values (FixedPoint<int16_t, N>). TFLite's integer LSTM (lstm_eval.cc,
// EvalInteger8x8_16) calls tensor_utils::ApplySigmoid / ApplyTanh, whose portable versions (the
// ones a WebAssembly build runs) are gemmlowp::logistic / gemmlowp::tanh on these types; our
// outputs must match them bit for bit, so every wrap-around, rounding and saturation below is
// deliberate.
//
// Notation: a "QN" value is a raw int16 with N integer bits and 15 - N fractional bits.
#pragma once

#include <cstdint>

#include "runtime/kernels/quantization.h"

namespace wisp {
namespace lstm_fixedpoint {

// gemmlowp's plain Add/Sub/Neg on int16 compute in int and store back to int16 (two's-complement
// wrap), unlike the saturating helpers.
inline int16_t Wrap16(int32_t v) { return static_cast<int16_t>(static_cast<uint16_t>(v)); }

inline int16_t SaturatingRoundingDoublingHighMul16(int16_t a, int16_t b) {
  const bool overflow = a == b && a == INT16_MIN;
  const int32_t ab = static_cast<int32_t>(a) * static_cast<int32_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  const int16_t high = static_cast<int16_t>((ab + nudge) / (1 << 15));
  return overflow ? INT16_MAX : high;
}

// Rounds half away from zero (same formula as the int32 RoundingDivideByPOT).
inline int16_t RoundingDivideByPOT16(int16_t x, int exponent) {
  return static_cast<int16_t>(RoundingDivideByPOT(x, exponent));
}

inline int16_t SaturatingAdd16(int16_t a, int16_t b) {
  const int32_t sum = static_cast<int32_t>(a) + static_cast<int32_t>(b);
  return static_cast<int16_t>(sum > INT16_MAX ? INT16_MAX : (sum < INT16_MIN ? INT16_MIN : sum));
}

inline int16_t RoundingHalfSum16(int16_t a, int16_t b) {
  const int32_t sum = static_cast<int32_t>(a) + static_cast<int32_t>(b);
  const int32_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int16_t>((sum + sign) / 2);
}

// x * 2^Exponent: saturating left shift for Exponent > 0, rounding right shift for Exponent < 0.
template <int Exponent>
inline int16_t SaturatingRoundingMultiplyByPOT16(int16_t x) {
  if (Exponent == 0) return x;
  if (Exponent < 0) return RoundingDivideByPOT16(x, -Exponent);
  constexpr int kShift = Exponent > 0 ? Exponent : 0;
  constexpr int32_t kThreshold = (1 << (15 - kShift)) - 1;
  if (x > kThreshold) return INT16_MAX;
  if (x < -kThreshold) return INT16_MIN;
  return Wrap16(static_cast<int32_t>(x) * (1 << kShift));
}

// gemmlowp writes its constants as int32 fixed point; the int16 versions are those rounded
// right by 16 bits (RescaleConstantInitializer).
inline int16_t Constant16(int32_t int32_raw) {
  return static_cast<int16_t>(RoundingDivideByPOT(int32_raw, 16));
}

// exp(a) for a in [-1/4, 0), a in Q0.
inline int16_t ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(int16_t a) {
  const int16_t constant_term = Constant16(1895147668);  // exp(-1/8)
  const int16_t constant_1_over_3 = Constant16(715827883);
  const int16_t x = Wrap16(a + (1 << 12));  // a + 1/8
  const int16_t x2 = SaturatingRoundingDoublingHighMul16(x, x);
  const int16_t x3 = SaturatingRoundingDoublingHighMul16(x2, x);
  const int16_t x4 = SaturatingRoundingDoublingHighMul16(x2, x2);
  const int16_t x4_over_4 = RoundingDivideByPOT16(x4, 2);
  const int16_t sum =
      Wrap16(SaturatingRoundingDoublingHighMul16(Wrap16(x4_over_4 + x3), constant_1_over_3) + x2);
  const int16_t poly = RoundingDivideByPOT16(sum, 1);
  return SaturatingAdd16(constant_term,
                         SaturatingRoundingDoublingHighMul16(constant_term, Wrap16(x + poly)));
}

// exp(a) for a <= 0, a in Q<IntegerBits>, result in Q0.
template <int IntegerBits>
inline int16_t ExpOnNegativeValues(int16_t a) {
  constexpr int kFractionalBits = 15 - IntegerBits;
  constexpr int16_t kOneQuarter = static_cast<int16_t>(1 << (kFractionalBits - 2));
  const int16_t mask = kOneQuarter - 1;
  const int16_t a_mod_quarter_minus_one_quarter = Wrap16((a & mask) - kOneQuarter);
  int16_t result = ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(
      SaturatingRoundingMultiplyByPOT16<IntegerBits>(a_mod_quarter_minus_one_quarter));
  const int16_t remainder = Wrap16(a_mod_quarter_minus_one_quarter - a);

  // Barrel shifter over the integer part: multiply by exp(-2^k) for each set bit.
  struct Step {
    int exponent;
    int32_t multiplier;
  };
  static constexpr Step kSteps[] = {{-2, 1672461947}, {-1, 1302514674}, {0, 790015084},
                                    {1, 290630308},   {2, 39332535},    {3, 720401},
                                    {4, 242}};
  for (const Step& s : kSteps) {
    if (IntegerBits > s.exponent) {
      const int shift = kFractionalBits + s.exponent;
      if (remainder & static_cast<int16_t>(1 << shift)) {
        result = SaturatingRoundingDoublingHighMul16(result, Constant16(s.multiplier));
      }
    }
  }
  if (IntegerBits > 5) {
    const int16_t clamp = Constant16(-(1 << (IntegerBits > 5 ? 36 - IntegerBits : 0)));  // -32
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT16_MAX;
  return result;
}

// Newton-Raphson reciprocal of (1 + a) / 2 in Q2, shared by the two functions below.
inline int16_t HalfDenominatorReciprocalQ2(int16_t half_denominator) {
  const int16_t constant_48_over_17 = Constant16(1515870810);
  const int16_t constant_neg_32_over_17 = Constant16(-1010580540);
  constexpr int16_t kOneQ2 = 1 << 13;
  int16_t x = Wrap16(constant_48_over_17 + SaturatingRoundingDoublingHighMul16(
                                               half_denominator, constant_neg_32_over_17));
  for (int i = 0; i < 3; ++i) {
    const int16_t half_denominator_times_x =
        SaturatingRoundingDoublingHighMul16(half_denominator, x);
    const int16_t one_minus = Wrap16(kOneQ2 - half_denominator_times_x);
    // Q2 * Q2 = Q4, rescaled back to Q2.
    x = Wrap16(x + SaturatingRoundingMultiplyByPOT16<2>(
                       SaturatingRoundingDoublingHighMul16(x, one_minus)));
  }
  return x;
}

// 1 / (1 + a) for a in (0, 1), Q0 in and out.
inline int16_t OneOverOnePlusXForXIn01(int16_t a) {
  const int16_t x = HalfDenominatorReciprocalQ2(RoundingHalfSum16(a, INT16_MAX));
  return SaturatingRoundingMultiplyByPOT16<1>(x);  // (x / 2) from Q1 to Q0
}

// (1 - a) / (1 + a) for a in (0, 1), Q0 in and out.
inline int16_t OneMinusXOverOnePlusXForXIn01(int16_t a) {
  const int16_t x = HalfDenominatorReciprocalQ2(RoundingHalfSum16(a, INT16_MAX));
  return SaturatingRoundingMultiplyByPOT16<2>(Wrap16(x - (1 << 13)));
}

// gemmlowp::logistic(FixedPoint<int16_t, IntegerBits>::FromRaw(a)).raw(): Q<IntegerBits> -> Q0.
template <int IntegerBits>
inline int16_t Logistic16(int16_t a) {
  if (a == 0) return Constant16(1 << 30);  // 0.5
  const bool positive = a > 0;
  const int16_t abs_input = positive ? a : Wrap16(-a);
  const int16_t result_if_positive =
      OneOverOnePlusXForXIn01(ExpOnNegativeValues<IntegerBits>(Wrap16(-abs_input)));
  return positive ? result_if_positive : Wrap16(INT16_MAX - result_if_positive);
}

// gemmlowp::tanh(FixedPoint<int16_t, IntegerBits>::FromRaw(a)).raw(): Q<IntegerBits> -> Q0.
template <int IntegerBits>
inline int16_t Tanh16(int16_t a) {
  if (a == 0) return 0;
  const bool negative = a < 0;
  const int16_t n = negative ? a : Wrap16(-a);
  // exp(2n): the same raw value read with one more integer bit.
  const int16_t t = OneMinusXOverOnePlusXForXIn01(ExpOnNegativeValues<IntegerBits + 1>(n));
  return negative ? Wrap16(-t) : t;
}

// Runtime dispatch of Tanh16 over the integer bits TFLite's ApplyTanh accepts (0..6).
inline int16_t Tanh16Dispatch(int integer_bits, int16_t a) {
  switch (integer_bits) {
    case 0:
      return Tanh16<0>(a);
    case 1:
      return Tanh16<1>(a);
    case 2:
      return Tanh16<2>(a);
    case 3:
      return Tanh16<3>(a);
    case 4:
      return Tanh16<4>(a);
    case 5:
      return Tanh16<5>(a);
    case 6:
      return Tanh16<6>(a);
    default:
      return 0;
  }
}

}  // namespace lstm_fixedpoint
}  // namespace wisp
