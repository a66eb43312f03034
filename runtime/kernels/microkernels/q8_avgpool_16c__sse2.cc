// Quantized average pooling of one window (avgpool.h) on SSE2: the wasmsimd kernel's scheme
// (int32 sums of 16 channels, division in float, truncation, clamp in int16, narrowing). The last
// channels (fewer than 16) take the scalar formula.
#include <emmintrin.h>

#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline void Accumulate16(__m128i x, __m128i* acc) {
  for (int h = 0; h < 2; ++h) {
    const __m128i half = h ? _mm_unpackhi_epi8(x, x) : _mm_unpacklo_epi8(x, x);
    const __m128i v = std::is_same_v<T, int8_t> ? _mm_srai_epi16(half, 8) : _mm_srli_epi16(half, 8);
    const __m128i sign = _mm_srai_epi16(v, 15);
    acc[2 * h] = _mm_add_epi32(acc[2 * h], _mm_unpacklo_epi16(v, sign));
    acc[2 * h + 1] = _mm_add_epi32(acc[2 * h + 1], _mm_unpackhi_epi16(v, sign));
  }
}

template <typename T>
void AvgPool(size_t window_h, size_t window_w, size_t channels, const uint8_t* input,
             size_t row_stride, uint8_t* output, const AvgPoolParams* p) {
  const __m128i half = _mm_set1_epi32(p->count / 2);
  const __m128i neg_half = _mm_set1_epi32(-(p->count / 2));
  const __m128 count = _mm_set1_ps(static_cast<float>(p->count));
  const __m128i zero = _mm_setzero_si128();
  const __m128i qmin = _mm_set1_epi16(static_cast<int16_t>(p->qmin));
  const __m128i qmax = _mm_set1_epi16(static_cast<int16_t>(p->qmax));
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    __m128i acc[4] = {zero, zero, zero, zero};
    for (size_t y = 0; y < window_h; ++y) {
      const uint8_t* row = input + y * row_stride + c;
      for (size_t x = 0; x < window_w; ++x) {
        Accumulate16<T>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + x * channels)), acc);
      }
    }
    __m128i q[4];
    for (int j = 0; j < 4; ++j) {
      const __m128i positive = _mm_cmpgt_epi32(acc[j], zero);
      const __m128i bias =
          _mm_or_si128(_mm_and_si128(positive, half), _mm_andnot_si128(positive, neg_half));
      const __m128 n = _mm_cvtepi32_ps(_mm_add_epi32(acc[j], bias));
      q[j] = _mm_cvttps_epi32(_mm_div_ps(n, count));  // |quotient| <= 256: no overflow
    }
    // The quotients fit int16: clamp there (SSE2 has no 32-bit min/max), then narrow.
    const __m128i lo = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(q[0], q[1]), qmin), qmax);
    const __m128i hi = _mm_min_epi16(_mm_max_epi16(_mm_packs_epi32(q[2], q[3]), qmin), qmax);
    const __m128i bytes =
        std::is_same_v<T, int8_t> ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + c), bytes);
  }
  for (; c < channels; ++c) {
    const int32_t acc = AvgPoolChannelSum<T>(window_h, window_w, channels, input, row_stride, c);
    reinterpret_cast<T*>(output)[c] = static_cast<T>(AvgPoolRound(acc, *p));
  }
}

}  // namespace

const AvgPoolKernelInfo kQ8Avgpool16cSse2 = {"q8_avgpool_16c__sse2", AvgPool<int8_t>,
                                             AvgPool<uint8_t>};

}  // namespace wisp
