// The shared requantization arithmetic against its definition.
#include "runtime/kernels/quantization.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace wisp {
namespace {

// RoundHalfToEven must be std::nearbyint (default rounding mode) everywhere, up to the sign of a
// zero result (which no integer conversion sees): at every tie, near the 2^22 switch-over, for
// large and non-finite values, and for random values.
TEST(Quantization, RoundHalfToEvenEqualsNearbyint) {
  auto same = [](float x) {
    const float a = RoundHalfToEven(x), b = std::nearbyint(x);
    if (std::isnan(b)) return std::isnan(a);
    return a == b;
  };
  for (int i = -2000; i <= 2000; ++i) {
    const float tie = static_cast<float>(i) + 0.5f;
    EXPECT_TRUE(same(tie)) << tie;
    EXPECT_TRUE(same(std::nextafter(tie, 0.0f))) << tie;
    EXPECT_TRUE(same(std::nextafter(tie, 1e9f))) << tie;
  }
  for (float x : {4194303.5f, 4194304.0f, 4194304.5f, -4194303.5f, -4194305.0f, 8388609.0f, 1e30f,
                  -1e30f, 0.0f, -0.0f, 0.49999997f, -0.5f, std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()}) {
    EXPECT_TRUE(same(x)) << x;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-5e6f, 5e6f);
  for (int i = 0; i < 200000; ++i) {
    const float x = d(rng) / static_cast<float>(1 << (i % 20));
    ASSERT_TRUE(same(x)) << x;
  }
}

TEST(Quantization, RequantizeFp32ClampsThenRoundsHalfToEven) {
  Fp32Requant p;
  p.scale = 0.5f;
  p.zero_point = 3;
  p.qmin = -128;
  p.qmax = 127;
  EXPECT_EQ(RequantizeFp32(5, p), 2 + 3);    // 2.5 -> 2
  EXPECT_EQ(RequantizeFp32(7, p), 4 + 3);    // 3.5 -> 4
  EXPECT_EQ(RequantizeFp32(-5, p), -2 + 3);  // -2.5 -> -2
  EXPECT_EQ(RequantizeFp32(1000, p), 127);
  EXPECT_EQ(RequantizeFp32(std::numeric_limits<int32_t>::min(), p), -128);
}

// TFLite's QuantizeMultiplier, and a hostile scale ratio beyond it.
TEST(QuantizeMultiplier, MatchesTfliteInRangeAndSaturatesBeyondIt) {
  int32_t m = 0;
  int shift = 0;
  QuantizeMultiplier(0.75, &m, &shift);
  EXPECT_EQ(m, 1610612736);  // 0.75 * 2^31
  EXPECT_EQ(shift, 0);
  QuantizeMultiplier(3.0, &m, &shift);
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(shift, 2);
  // Scales 2^71 apart (invoke_fuzzer): TFLite aborts; here the largest multiplier, shift 31, and
  // applying it stays defined (the sanitizer build checks the shift).
  QuantizeMultiplier(std::ldexp(1.0, 70), &m, &shift);
  EXPECT_EQ(shift, 31);
  EXPECT_EQ(m, 2147483647);
  (void)MultiplyByQuantizedMultiplier(123, m, shift);
  (void)MultiplyByQuantizedMultiplier(-5, m, shift);
}

}  // namespace
}  // namespace wisp
