// Quantized elementwise addition (vadd.h) on AVX2, 16 elements per step (XNNPACK's avx2-mul32
// scheme): bytes widened straight to int32, the zero points folded into one constant,
//   acc = a * a_mult + b * b_mult + (rounding - a_zp * a_mult - b_zp * b_mult)
// which wraps in int32 exactly like the reference's sum (whose true value fits), then the
// arithmetic shift, saturating packs with the output zero point and the clamp. The SSE2 kernel
// emulates the 32-bit multiplies with 16 x 32 partial products; vpmulld does them in one.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
inline __m256i Widen8(const uint8_t* p) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  if constexpr (std::is_same_v<T, int8_t>) return _mm256_cvtepi8_epi32(bytes);
  return _mm256_cvtepu8_epi32(bytes);
}

struct Consts {
  __m256i a_mult, b_mult, bias;
  __m128i shift;
  __m256i out_zp;  // int16 lanes
  __m128i qmin, qmax;
};

template <typename T>
inline __m128i Add16(const uint8_t* a, const uint8_t* b, const Consts& k) {
  __m256i q[2];
  for (int h = 0; h < 2; ++h) {
    const __m256i acc =
        _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(Widen8<T>(a + 8 * h), k.a_mult),
                                          _mm256_mullo_epi32(Widen8<T>(b + 8 * h), k.b_mult)),
                         k.bias);
    q[h] = _mm256_sra_epi32(acc, k.shift);
  }
  // packs works per 128-bit lane: [0-3, 8-11 | 4-7, 12-15] -> in order by a 64-bit permute.
  const __m256i words =
      _mm256_adds_epi16(_mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8), k.out_zp);
  const __m128i lo = _mm256_castsi256_si128(words), hi = _mm256_extracti128_si256(words, 1);
  if constexpr (std::is_same_v<T, int8_t>) {
    return _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(lo, hi), k.qmin), k.qmax);
  }
  return _mm_min_epu8(_mm_max_epu8(_mm_packus_epi16(lo, hi), k.qmin), k.qmax);
}

template <typename T>
void Vadd(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out, const QAddParams* p) {
  Consts k;
  k.a_mult = _mm256_set1_epi32(p->a_multiplier);
  k.b_mult = _mm256_set1_epi32(p->b_multiplier);
  // Unsigned arithmetic: the folded constant wraps like the kernel's int32 lanes.
  const uint32_t bias =
      static_cast<uint32_t>(p->rounding) -
      static_cast<uint32_t>(p->a_zero_point) * static_cast<uint32_t>(p->a_multiplier) -
      static_cast<uint32_t>(p->b_zero_point) * static_cast<uint32_t>(p->b_multiplier);
  k.bias = _mm256_set1_epi32(static_cast<int32_t>(bias));
  k.shift = _mm_cvtsi32_si128(static_cast<int>(p->shift));
  k.out_zp = _mm256_set1_epi16(static_cast<int16_t>(p->output_zero_point));
  k.qmin = _mm_set1_epi8(static_cast<char>(p->qmin));
  k.qmax = _mm_set1_epi8(static_cast<char>(p->qmax));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), Add16<T>(a + i, b + i, k));
  }
  if (i < n) {
    alignas(16) uint8_t ta[16] = {}, tb[16] = {}, to[16];
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    _mm_store_si128(reinterpret_cast<__m128i*>(to), Add16<T>(ta, tb, k));
    std::memcpy(out + i, to, n - i);
  }
}

}  // namespace

const VaddKernelInfo kQ8Vadd16Avx2 = {"q8_vadd_16__avx2", Vadd<int8_t>, Vadd<uint8_t>};

}  // namespace wisp
