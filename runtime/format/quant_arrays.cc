#include "runtime/format/quant_arrays.h"

#include "flatbuffers/base.h"
#include "runtime/core/noinline.h"

namespace wisp {

static_assert(FLATBUFFERS_LITTLEENDIAN, "model files keep their arrays little-endian");

WISP_NOINLINE size_t CopyQuantArrays(const float* scales, const uint8_t* zero_points, size_t n,
                                     int64_t zp_min, int64_t zp_max, float* scale_out,
                                     int32_t* zp_out) {
  for (size_t c = 0; c < n; ++c) {
    const float s = scales[c];
    const int64_t zp = zero_points ? ZeroPointAt(zero_points, c) : 0;
    if (!ValidQuantScale(s) || zp < zp_min || zp > zp_max) return c;
    scale_out[c] = s;
    zp_out[c] = static_cast<int32_t>(zp);
  }
  return n;
}

}  // namespace wisp
