// Quantized addition of a broadcast value (vadd.h, QVaddcFn) on SSE2, 16 elements per step: the
// vadd kernel's scheme (32-bit products from 16 x 32 partial products) with the broadcast
// operand's term added as a constant. The last elements (fewer than 16) take the scalar formula.
#include <emmintrin.h>

#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
void Vaddc(size_t n, const uint8_t* a, int32_t b_term, uint8_t* out, const QAddParams* p) {
  const __m128i a_zp = _mm_set1_epi16(static_cast<int16_t>(p->a_zero_point));
  const __m128i a_mult = _mm_set1_epi32(p->a_multiplier);
  const __m128i bias = _mm_set1_epi32(b_term);
  const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(p->shift));
  const __m128i out_zp = _mm_set1_epi16(static_cast<int16_t>(p->output_zero_point));
  const __m128i qmin = _mm_set1_epi16(static_cast<int16_t>(p->qmin));
  const __m128i qmax = _mm_set1_epi16(static_cast<int16_t>(p->qmax));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i q[2];
    for (int h = 0; h < 2; ++h) {
      const __m128i x = _mm_sub_epi16(Sse2Load8Widened<T>(a + i + 8 * h), a_zp);
      const __m128i sign = _mm_srai_epi16(x, 15);
      const __m128i lo = _mm_sra_epi32(
          _mm_add_epi32(Sse2MulLo32(_mm_unpacklo_epi16(x, sign), a_mult), bias), shift);
      const __m128i hi = _mm_sra_epi32(
          _mm_add_epi32(Sse2MulLo32(_mm_unpackhi_epi16(x, sign), a_mult), bias), shift);
      // Clamp in int16 (SSE2 has no signed byte min/max); values are then within the dtype.
      q[h] =
          _mm_min_epi16(_mm_max_epi16(_mm_adds_epi16(_mm_packs_epi32(lo, hi), out_zp), qmin), qmax);
    }
    const __m128i bytes =
        std::is_same_v<T, int8_t> ? _mm_packs_epi16(q[0], q[1]) : _mm_packus_epi16(q[0], q[1]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), bytes);
  }
  const T* as = reinterpret_cast<const T*>(a);
  for (; i < n; ++i) reinterpret_cast<T*>(out)[i] = static_cast<T>(VaddValue(as[i], b_term, *p));
}

}  // namespace

const VaddcKernelInfo kQ8Vaddc16Sse2 = {"q8_vaddc_16__sse2", Vaddc<int8_t>, Vaddc<uint8_t>};

}  // namespace wisp
