#include "runtime/core/float_to_int.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace wisp {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();

TEST(FloatToInt, EqualsThePlainCastsInsideTheRange) {
  for (float x : {0.0f, 0.49f, 0.5f, -0.5f, 2.5f, -2.5f, 127.6f, -128.4f, 1e9f, -1e9f}) {
    EXPECT_EQ(TruncToInt32Saturated(x), static_cast<int32_t>(x)) << x;
    EXPECT_EQ(RoundToInt32Saturated(x), static_cast<int32_t>(std::round(x))) << x;
    EXPECT_EQ(QuantizeSaturated(x, -7), static_cast<int32_t>(std::round(x)) - 7) << x;
  }
}

TEST(FloatToInt, SaturatesOutsideTheRangeAndMapsNanToZero) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(TruncToInt32Saturated(6.0f / 1e-30f), kMax);  // a hostile scale's ReLU6 bound
  EXPECT_EQ(TruncToInt32Saturated(2147483648.0f), kMax);
  EXPECT_EQ(TruncToInt32Saturated(-2147483648.0f), kMin);
  EXPECT_EQ(RoundToInt32Saturated(-inf), kMin);
  EXPECT_EQ(RoundToInt32Saturated(std::nanf("")), 0);
  // The zero point added without overflowing.
  EXPECT_EQ(QuantizeSaturated(inf, 100), kMax);
  EXPECT_EQ(QuantizeSaturated(-inf, -100), kMin);
  EXPECT_EQ(QuantizeSaturated(2147483520.0f, 127), kMax);
}

}  // namespace
}  // namespace wisp
