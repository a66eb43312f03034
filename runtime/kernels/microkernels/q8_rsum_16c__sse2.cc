// Quantized row reduction (reduce.h) on SSE2: 16 channels per step, widened to int32 and added
// into four accumulators. The channels past the last multiple of 16 take the same path on a copy
// padded with zeros, so nothing is read past a row.
#include <emmintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline void Accumulate16(__m128i x, __m128i* a0, __m128i* a1, __m128i* a2, __m128i* a3) {
  __m128i lo, hi, sign16_lo, sign16_hi;
  if constexpr (std::is_same_v<T, int8_t>) {
    lo = _mm_srai_epi16(_mm_unpacklo_epi8(x, x), 8);
    hi = _mm_srai_epi16(_mm_unpackhi_epi8(x, x), 8);
    sign16_lo = _mm_srai_epi16(lo, 15);
    sign16_hi = _mm_srai_epi16(hi, 15);
  } else {
    lo = _mm_unpacklo_epi8(x, _mm_setzero_si128());
    hi = _mm_unpackhi_epi8(x, _mm_setzero_si128());
    sign16_lo = sign16_hi = _mm_setzero_si128();
  }
  *a0 = _mm_add_epi32(*a0, _mm_unpacklo_epi16(lo, sign16_lo));
  *a1 = _mm_add_epi32(*a1, _mm_unpackhi_epi16(lo, sign16_lo));
  *a2 = _mm_add_epi32(*a2, _mm_unpacklo_epi16(hi, sign16_hi));
  *a3 = _mm_add_epi32(*a3, _mm_unpackhi_epi16(hi, sign16_hi));
}

template <typename T>
void Rsum(size_t rows, size_t channels, const uint8_t* input, size_t input_stride, int32_t bias,
          float scale, uint8_t* output, const QuantEpilogue* e) {
  const __m128 vscale = _mm_set1_ps(scale);
  for (size_t c0 = 0; c0 < channels; c0 += 16) {
    const size_t n = std::min<size_t>(16, channels - c0);
    __m128i a0 = _mm_set1_epi32(bias), a1 = a0, a2 = a0, a3 = a0;
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* x = input + r * input_stride + c0;
      __m128i v;
      if (n == 16) {
        v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x));
      } else {
        alignas(16) uint8_t padded[16] = {};
        std::memcpy(padded, x, n);
        v = _mm_load_si128(reinterpret_cast<const __m128i*>(padded));
      }
      Accumulate16<T>(v, &a0, &a1, &a2, &a3);
    }
    const __m128i bytes =
        Sse2Narrow16<T>(Sse2Requantize4(a0, vscale, *e), Sse2Requantize4(a1, vscale, *e),
                        Sse2Requantize4(a2, vscale, *e), Sse2Requantize4(a3, vscale, *e));
    if (n == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(output + c0), bytes);
    } else {
      Sse2StorePartial(output + c0, bytes, n);
    }
  }
}

}  // namespace

const RsumKernelInfo kQ8Rsum16cSse2 = {"q8_rsum_16c__sse2", Rsum<int8_t>, Rsum<uint8_t>};

}  // namespace wisp
