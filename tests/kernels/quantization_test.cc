// TFLite's fixed-point multiplier helpers (runtime/kernels/quantization.h) on hostile inputs.
#include "runtime/kernels/quantization.h"

#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace wisp {
namespace {

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
