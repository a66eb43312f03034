#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/preprocess/lcg.h"

namespace wisp {
namespace {

TEST(Lcg, FirstStatesOfSeedOne) {
  // s1 = 1664525 * 1 + 1013904223, then the recurrence mod 2^32 (values from Python).
  Lcg32 lcg(1);
  EXPECT_EQ(lcg.NextState(), 1015568748u);
  EXPECT_EQ(lcg.NextState(), 1586005467u);
  EXPECT_EQ(lcg.NextState(), 2165703038u);
  EXPECT_EQ(lcg.NextState(), 3027450565u);
}

TEST(Lcg, BytesAreTopBitsAfterAdvancing) {
  uint8_t u8[4];
  FillLcgUint8(1, u8, 4);
  EXPECT_EQ(u8[0], 60);  // 1015568748 >> 24
  EXPECT_EQ(u8[1], 94);
  EXPECT_EQ(u8[2], 129);
  EXPECT_EQ(u8[3], 180);
  int8_t i8[4];
  FillLcgInt8(1, i8, 4);
  EXPECT_EQ(i8[0], 60 - 128);
  EXPECT_EQ(i8[1], 94 - 128);
  EXPECT_EQ(i8[2], 129 - 128);
  EXPECT_EQ(i8[3], 180 - 128);
}

TEST(Lcg, SeedZeroAndWrapAround) {
  Lcg32 lcg(0xFFFFFFFFu);
  // (1664525 * (2^32 - 1) + 1013904223) mod 2^32 = 1013904223 - 1664525
  EXPECT_EQ(lcg.NextState(), 1013904223u - 1664525u);
  Lcg32 zero(0);
  EXPECT_EQ(zero.NextState(), 1013904223u);
}

TEST(Lcg, FloatTwinIsOneMultiplyOfTheInt8Value) {
  const size_t n = 1000;
  std::vector<int8_t> q(n);
  std::vector<float> x(n);
  const float scale = 0.5847029089927673f;
  const int32_t zero_point = 83;
  FillLcgInt8(1, q.data(), n);
  FillLcgFloatTwin(1, scale, zero_point, x.data(), n);
  for (size_t i = 0; i < n; ++i) {
    const float expected = static_cast<float>(static_cast<int32_t>(q[i]) - zero_point) * scale;
    ASSERT_EQ(std::memcmp(&x[i], &expected, 4), 0) << i;
  }
}

}  // namespace
}  // namespace wisp
