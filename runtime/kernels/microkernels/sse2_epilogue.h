// The requantization epilogue (quant_epilogue.h) and byte helpers on SSE2 lanes, shared by the
// x86 microkernels.
#pragma once

#include <emmintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

// Eight bytes at p as int16 lanes (sign- or zero-extended).
template <typename T>
inline __m128i Sse2Load8Widened(const uint8_t* p) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  if constexpr (std::is_same_v<T, int8_t>)
    return _mm_srai_epi16(_mm_unpacklo_epi8(bytes, bytes), 8);
  return _mm_unpacklo_epi8(bytes, _mm_setzero_si128());
}

// The low (high = false) or high eight bytes of `bytes` as int16 lanes (sign- or zero-extended).
template <typename T>
inline __m128i Sse2Widen16(__m128i bytes, bool high) {
  const __m128i half = high ? _mm_unpackhi_epi8(bytes, bytes) : _mm_unpacklo_epi8(bytes, bytes);
  if constexpr (std::is_same_v<T, int8_t>) return _mm_srai_epi16(half, 8);
  return _mm_srli_epi16(half, 8);
}

// x * m per 32-bit lane, for products that fit int32. SSE2 has only unsigned 32 x 32 -> 64
// multiplies (pmuludq) of the even lanes; the low 32 bits of a product do not depend on
// signedness, so even and odd lanes are multiplied separately and re-interleaved.
inline __m128i Sse2MulLo32(__m128i x, __m128i m) {
  const __m128i even = _mm_mul_epu32(x, m);
  const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(x, 32), _mm_srli_epi64(m, 32));
  return _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(0, 0, 2, 0)),
                            _mm_shuffle_epi32(odd, _MM_SHUFFLE(0, 0, 2, 0)));
}

// [sum a0, sum a1, sum a2, sum a3]
inline __m128i Sse2ReduceAdd4(__m128i a0, __m128i a1, __m128i a2, __m128i a3) {
  const __m128i a01 = _mm_add_epi32(_mm_unpacklo_epi32(a0, a1), _mm_unpackhi_epi32(a0, a1));
  const __m128i a23 = _mm_add_epi32(_mm_unpacklo_epi32(a2, a3), _mm_unpackhi_epi32(a2, a3));
  return _mm_add_epi32(_mm_unpacklo_epi64(a01, a23), _mm_unpackhi_epi64(a01, a23));
}

inline __m128i Sse2Requantize4(__m128i acc, __m128 scale, const QuantEpilogue& e) {
  __m128 x = _mm_mul_ps(_mm_cvtepi32_ps(acc), scale);
  x = _mm_max_ps(x, _mm_set1_ps(e.min));
  x = _mm_min_ps(x, _mm_set1_ps(e.max));
  x = _mm_add_ps(x, _mm_set1_ps(kMagicBias));
  return _mm_sub_epi32(_mm_castps_si128(x), _mm_set1_epi32(e.magic_minus_zero_point));
}

// Requantized int32 values (within [qmin, qmax]) -> bytes of T; q0..q3 give bytes 0..15.
template <typename T>
inline __m128i Sse2Narrow16(__m128i q0, __m128i q1, __m128i q2, __m128i q3) {
  const __m128i lo = _mm_packs_epi32(q0, q1);
  const __m128i hi = _mm_packs_epi32(q2, q3);
  if constexpr (std::is_same_v<T, int8_t>) return _mm_packs_epi16(lo, hi);
  return _mm_packus_epi16(lo, hi);
}

template <typename T>
inline __m128i Sse2Narrow8(__m128i q0, __m128i q1) {
  return Sse2Narrow16<T>(q0, q1, q0, q1);
}

// Stores the first n (< 16) bytes of v.
inline void Sse2StorePartial(uint8_t* out, __m128i v, size_t n) {
  alignas(16) uint8_t bytes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(bytes), v);
  std::memcpy(out, bytes, n);
}

// Float32 kernels (f32_conv.h): min(max(acc, lo), hi) exactly as std::min / std::max compute it.
// _mm_max_ps(lo, acc) is acc unless lo > acc (so a NaN accumulator passes, as in
// std::max(acc, lo)); _mm_min_ps(hi, v) is v unless hi < v (as std::min(v, hi)).
inline __m128 Sse2ClampF32(__m128 acc, __m128 lo, __m128 hi) {
  return _mm_min_ps(hi, _mm_max_ps(lo, acc));
}

}  // namespace wisp
