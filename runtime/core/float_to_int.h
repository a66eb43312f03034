// Floats to int32 without undefined behaviour. Model files are hostile until proven otherwise: a
// scale of 1e-30 is "positive and finite" and still puts 6.0 / scale far outside int32, where a
// plain cast is undefined (UBSan: "outside the range of representable values"). These saturate at
// the type's limits and map NaN to 0; inside the range they equal the plain casts, so valid models
// get the same bytes.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace wisp {

// (int32_t)x for x inside int32's range, else the nearest limit; NaN gives 0.
inline int32_t TruncToInt32Saturated(float x) {
  if (x != x) return 0;
  if (x >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
  if (x <= -2147483648.0f) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(x);
}

// (int32_t)std::round(x) (half away from zero), saturated as TruncToInt32Saturated.
inline int32_t RoundToInt32Saturated(float x) { return TruncToInt32Saturated(std::round(x)); }

// zero_point + round(x): the quantized value of a real, saturated at int32's limits.
inline int32_t QuantizeSaturated(float x, int32_t zero_point) {
  const int64_t v = int64_t{zero_point} + RoundToInt32Saturated(x);
  if (v > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  if (v < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(v);
}

}  // namespace wisp
