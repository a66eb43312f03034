// 8-bit -> float32 dequantization (convert.h) on SSE2, 16 values per step: the wasmsimd kernel's
// scheme (int16 minus zero point, int32, exact conversion, one multiply). The tail runs on a copy
// padded to 16.
#include <emmintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline void Dequantize16(__m128i bytes, __m128i zp, __m128 scale, float* out) {
  for (int h = 0; h < 2; ++h) {
    const __m128i x = _mm_sub_epi16(Sse2Widen16<T>(bytes, h == 1), zp);
    const __m128i sign = _mm_srai_epi16(x, 15);
    const __m128i lo = _mm_unpacklo_epi16(x, sign), hi = _mm_unpackhi_epi16(x, sign);
    _mm_storeu_ps(out + 8 * h, _mm_mul_ps(_mm_cvtepi32_ps(lo), scale));
    _mm_storeu_ps(out + 8 * h + 4, _mm_mul_ps(_mm_cvtepi32_ps(hi), scale));
  }
}

template <typename T>
void Dequantize(size_t n, const uint8_t* input, float* output, int32_t zero_point, float scale) {
  const __m128i zp = _mm_set1_epi16(static_cast<int16_t>(zero_point));
  const __m128 s = _mm_set1_ps(scale);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Dequantize16<T>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(input + i)), zp, s,
                    output + i);
  }
  if (i < n) {
    alignas(16) uint8_t x[16] = {};
    float y[16];
    std::memcpy(x, input + i, n - i);
    Dequantize16<T>(_mm_load_si128(reinterpret_cast<const __m128i*>(x)), zp, s, y);
    std::memcpy(output + i, y, (n - i) * sizeof(float));
  }
}

}  // namespace

const DequantizeKernelInfo kQ8F32Cvt16Sse2 = {"q8_f32_cvt_16__sse2", Dequantize<int8_t>,
                                              Dequantize<uint8_t>};

}  // namespace wisp
