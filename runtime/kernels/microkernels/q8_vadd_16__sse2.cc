// Quantized elementwise addition (vadd.h) on SSE2, 16 elements per step: the wasmsimd kernel's
// scheme (int16 minus zero points, int32 products, shift, saturating narrow, zero point, clamp),
// with the 32-bit multiplies that SSE2 lacks done as 16 x 32 partial products (the multiplier is
// below 2^21, the int16 value exact). The tail runs on padded copies.
#include <emmintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline __m128i Add16(__m128i a, __m128i b, const QAddParams& p) {
  const __m128i a_zp = _mm_set1_epi16(static_cast<int16_t>(p.a_zero_point));
  const __m128i b_zp = _mm_set1_epi16(static_cast<int16_t>(p.b_zero_point));
  const __m128i a_mult = _mm_set1_epi32(p.a_multiplier);
  const __m128i b_mult = _mm_set1_epi32(p.b_multiplier);
  const __m128i rounding = _mm_set1_epi32(p.rounding);
  const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(p.shift));
  __m128i q[4];
  for (int h = 0; h < 2; ++h) {
    const __m128i x = _mm_sub_epi16(Sse2Widen16<T>(a, h == 1), a_zp);
    const __m128i y = _mm_sub_epi16(Sse2Widen16<T>(b, h == 1), b_zp);
    const __m128i x_sign = _mm_srai_epi16(x, 15), y_sign = _mm_srai_epi16(y, 15);
    for (int part = 0; part < 2; ++part) {
      const __m128i x32 = part ? _mm_unpackhi_epi16(x, x_sign) : _mm_unpacklo_epi16(x, x_sign);
      const __m128i y32 = part ? _mm_unpackhi_epi16(y, y_sign) : _mm_unpacklo_epi16(y, y_sign);
      const __m128i acc = _mm_add_epi32(
          _mm_add_epi32(Sse2MulLo32(x32, a_mult), Sse2MulLo32(y32, b_mult)), rounding);
      q[h * 2 + part] = _mm_sra_epi32(acc, shift);
    }
  }
  const __m128i out_zp = _mm_set1_epi16(static_cast<int16_t>(p.output_zero_point));
  const __m128i lo = _mm_adds_epi16(_mm_packs_epi32(q[0], q[1]), out_zp);
  const __m128i hi = _mm_adds_epi16(_mm_packs_epi32(q[2], q[3]), out_zp);
  // Clamp in int16 (SSE2 has no signed byte min/max), then narrow: values are within the dtype.
  const __m128i qmin = _mm_set1_epi16(static_cast<int16_t>(p.qmin));
  const __m128i qmax = _mm_set1_epi16(static_cast<int16_t>(p.qmax));
  const __m128i lo_c = _mm_min_epi16(_mm_max_epi16(lo, qmin), qmax);
  const __m128i hi_c = _mm_min_epi16(_mm_max_epi16(hi, qmin), qmax);
  if constexpr (std::is_same_v<T, int8_t>) return _mm_packs_epi16(lo_c, hi_c);
  return _mm_packus_epi16(lo_c, hi_c);
}

template <typename T>
void Vadd(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out, const QAddParams* p) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), Add16<T>(va, vb, *p));
  }
  if (i < n) {
    alignas(16) uint8_t ta[16] = {}, tb[16] = {};
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    const __m128i v = Add16<T>(_mm_load_si128(reinterpret_cast<const __m128i*>(ta)),
                               _mm_load_si128(reinterpret_cast<const __m128i*>(tb)), *p);
    Sse2StorePartial(out + i, v, n - i);
  }
}

}  // namespace

const VaddKernelInfo kQ8Vadd16Sse2 = {"q8_vadd_16__sse2", Vadd<int8_t>, Vadd<uint8_t>};

}  // namespace wisp
