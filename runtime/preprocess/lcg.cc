#include "runtime/preprocess/lcg.h"

namespace wisp {

void FillLcgUint8(uint32_t seed, uint8_t* dst, size_t count) {
  Lcg32 lcg(seed);
  for (size_t k = 0; k < count; ++k) dst[k] = lcg.NextByte();
}

void FillLcgInt8(uint32_t seed, int8_t* dst, size_t count) {
  Lcg32 lcg(seed);
  for (size_t k = 0; k < count; ++k) {
    dst[k] = static_cast<int8_t>(static_cast<int32_t>(lcg.NextByte()) - 128);
  }
}

void FillLcgFloatTwin(uint32_t seed, float scale, int32_t zero_point, float* dst, size_t count) {
  Lcg32 lcg(seed);
  for (size_t k = 0; k < count; ++k) {
    const int32_t q = static_cast<int32_t>(lcg.NextByte()) - 128;
    dst[k] = DequantizeTwin(q, scale, zero_point);
  }
}

}  // namespace wisp
