// Quantized elementwise multiplication (vmul.h) on SSE2, 16 elements per step: int16 values minus
// the zero points, exact 32-bit products from the low and high halves of the 16 x 16 multiply,
// then the float epilogue and narrowing. The tail runs on copies padded to 16.
#include <emmintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline __m128i Mul16(__m128i a, __m128i b, const QMulParams& p) {
  const __m128i a_zp = _mm_set1_epi16(static_cast<int16_t>(p.a_zero_point));
  const __m128i b_zp = _mm_set1_epi16(static_cast<int16_t>(p.b_zero_point));
  const __m128 scale = _mm_set1_ps(p.scale);
  __m128i q[4];
  for (int h = 0; h < 2; ++h) {
    const __m128i x = _mm_sub_epi16(Sse2Widen16<T>(a, h == 1), a_zp);
    const __m128i y = _mm_sub_epi16(Sse2Widen16<T>(b, h == 1), b_zp);
    const __m128i lo = _mm_mullo_epi16(x, y), hi = _mm_mulhi_epi16(x, y);
    q[2 * h] = Sse2Requantize4(_mm_unpacklo_epi16(lo, hi), scale, p.epilogue);
    q[2 * h + 1] = Sse2Requantize4(_mm_unpackhi_epi16(lo, hi), scale, p.epilogue);
  }
  return Sse2Narrow16<T>(q[0], q[1], q[2], q[3]);
}

template <typename T>
void Vmul(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out, const QMulParams* p) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), Mul16<T>(va, vb, *p));
  }
  if (i < n) {
    alignas(16) uint8_t ta[16] = {}, tb[16] = {};
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    const __m128i v = Mul16<T>(_mm_load_si128(reinterpret_cast<const __m128i*>(ta)),
                               _mm_load_si128(reinterpret_cast<const __m128i*>(tb)), *p);
    Sse2StorePartial(out + i, v, n - i);
  }
}

}  // namespace

const VmulKernelInfo kQ8Vmul16Sse2 = {"q8_vmul_16__sse2", Vmul<int8_t>, Vmul<uint8_t>};

}  // namespace wisp
