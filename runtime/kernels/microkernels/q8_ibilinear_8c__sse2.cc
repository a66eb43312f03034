// Quantized bilinear interpolation of one output row (ibilinear.h) on SSE2, eight channels per
// step: int16 values, the horizontal pass as 32-bit products assembled from the low and high
// halves of 16 x 16 multiplies, the vertical pass in int32 (its product by alpha_v <= 2^11 built
// from two 16-bit halves of the difference). The last channels (fewer than 8) take the scalar
// formula.
#include <emmintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

// Exact 32-bit lanes of x * y for int16 lanes x, y: [low 4, high 4].
inline void Mul16To32(__m128i x, __m128i y, __m128i* lo, __m128i* hi) {
  const __m128i l = _mm_mullo_epi16(x, y), h = _mm_mulhi_epi16(x, y);
  *lo = _mm_unpacklo_epi16(l, h);
  *hi = _mm_unpackhi_epi16(l, h);
}

template <typename T>
void Ibilinear(size_t width, size_t channels, const uint8_t* top, const uint8_t* bottom,
               const IbilinearColumn* columns, int32_t alpha_v, uint8_t* output) {
  const __m128i one = _mm_set1_epi16(2048);
  const __m128i av = _mm_set1_epi32(alpha_v);
  const __m128i rounding = _mm_set1_epi32(1 << 21);
  for (size_t p = 0; p < width; ++p) {
    const IbilinearColumn& col = columns[p];
    const __m128i ah = _mm_set1_epi16(static_cast<int16_t>(col.alpha));
    const uint8_t* tl = top + col.left;
    const uint8_t* tr = top + col.right;
    const uint8_t* bl = bottom + col.left;
    const uint8_t* br = bottom + col.right;
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      const __m128i vtl = Sse2Load8Widened<T>(tl + c), vtr = Sse2Load8Widened<T>(tr + c);
      const __m128i vbl = Sse2Load8Widened<T>(bl + c), vbr = Sse2Load8Widened<T>(br + c);
      __m128i t0_lo, t0_hi, t1_lo, t1_hi, b0_lo, b0_hi, b1_lo, b1_hi;
      Mul16To32(vtl, one, &t0_lo, &t0_hi);
      Mul16To32(_mm_sub_epi16(vtr, vtl), ah, &t1_lo, &t1_hi);
      Mul16To32(vbl, one, &b0_lo, &b0_hi);
      Mul16To32(_mm_sub_epi16(vbr, vbl), ah, &b1_lo, &b1_hi);
      auto vertical = [&](__m128i t, __m128i b) {
        const __m128i acc =
            _mm_add_epi32(_mm_slli_epi32(t, 11), Sse2MulLo32(_mm_sub_epi32(b, t), av));
        return _mm_srai_epi32(_mm_add_epi32(acc, rounding), 22);
      };
      const __m128i q_lo = vertical(_mm_add_epi32(t0_lo, t1_lo), _mm_add_epi32(b0_lo, b1_lo));
      const __m128i q_hi = vertical(_mm_add_epi32(t0_hi, t1_hi), _mm_add_epi32(b0_hi, b1_hi));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(output), Sse2Narrow8<T>(q_lo, q_hi));
      output += 8;
    }
    output = IbilinearChannels<T>(c, channels, tl, tr, bl, br, col.alpha, alpha_v, output);
  }
}

}  // namespace

const IbilinearKernelInfo kQ8Ibilinear8cSse2 = {"q8_ibilinear_8c__sse2", Ibilinear<int8_t>,
                                                Ibilinear<uint8_t>};

}  // namespace wisp
