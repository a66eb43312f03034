// The epilogue of the 16-channel GEMM kernels on 256-bit vectors (q8_gemm_4x16c2__avx2,
// q8_gemm_4x16c2w8__avx2, q8_gemm_6x16c4__avxvnni): per row, acc0 holds channels 0-7 and acc1
// channels 8-15 of the block as int32 sums; the row-sum correction of 8-bit layouts (pack.h),
// XNNPACK's fp32 requantization and the byte stores are the same for all of them.
//
// Internal linkage on purpose, as in avx512_helpers.h: the kernels' files are compiled with
// their own flags, and an inline function shared by name could be merged into one copy built for
// the wrong ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/quant_epilogue.h"

#if !defined(__AVX2__)
#error "avx2_gemm_epilogue.h needs -mavx2"
#endif

namespace wisp {
namespace {

constexpr int kAvx2GemmNr = 16;  // channels per block

// The epilogue's constants, set once per call.
struct Avx2GemmEpilogue {
  explicit Avx2GemmEpilogue(const QuantEpilogue& e)
      : max(_mm256_set1_ps(e.max)),
        zp(_mm256_set1_epi16(static_cast<int16_t>(e.zero_point))),
        qmin(_mm256_set1_epi8(static_cast<char>(e.qmin))),
        order(_mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)) {}
  __m256 max;
  __m256i zp, qmin, order;
};

// acc += factor[n] * row_sums[r] for 8-bit layouts whose uint8 channels keep a zero point
// (pack.h): `factors` is the block's int32 row_sum_factor[16].
template <int MR>
inline void AddRowSums(const uint8_t* factors, const int32_t* sums, __m256i* acc0, __m256i* acc1) {
  const __m256i f0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(factors));
  const __m256i f1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(factors + 32));
  for (int r = 0; r < MR; ++r) {
    const __m256i s = _mm256_set1_epi32(sums[r]);
    acc0[r] = _mm256_add_epi32(acc0[r], _mm256_mullo_epi32(f0, s));
    acc1[r] = _mm256_add_epi32(acc1[r], _mm256_mullo_epi32(f1, s));
  }
}

// f32(acc) * scale, at most qmax - zp, rounded to nearest even (MXCSR's default mode); the
// saturating packs and the qmin clamp of StoreRows finish XNNPACK's fp32 epilogue
// (avx512_helpers.h explains why it equals quant_epilogue.h).
inline __m256i Scale(__m256i acc, __m256 scale, __m256 max) {
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), max));
}

// Requantizes the MR rows' accumulators with the block's float scale[16] at `scales` and stores
// channels n0 .. n0 + n (n <= 16) of each row at out[r] + n0, two rows per vector.
template <typename T, int MR>
inline void StoreRows(const __m256i* acc0, const __m256i* acc1, const uint8_t* scales,
                      const Avx2GemmEpilogue& e, uint8_t* const* out, size_t n0, size_t n) {
  const __m256 s0 = _mm256_loadu_ps(reinterpret_cast<const float*>(scales));
  const __m256 s1 = _mm256_loadu_ps(reinterpret_cast<const float*>(scales + 32));
  for (int r = 0; r < MR; r += 2) {
    const int r1 = MR > 1 ? r + 1 : r;
    // Per 128-bit lane: row r's channels 0-3 and 8-11 (lane 0) or 4-7 and 12-15 (lane 1).
    const __m256i p0 = _mm256_adds_epi16(
        _mm256_packs_epi32(Scale(acc0[r], s0, e.max), Scale(acc1[r], s1, e.max)), e.zp);
    const __m256i p1 = _mm256_adds_epi16(
        _mm256_packs_epi32(Scale(acc0[r1], s0, e.max), Scale(acc1[r1], s1, e.max)), e.zp);
    __m256i bytes = std::is_same_v<T, int8_t>
                        ? _mm256_max_epi8(_mm256_packs_epi16(p0, p1), e.qmin)
                        : _mm256_max_epu8(_mm256_packus_epi16(p0, p1), e.qmin);
    // Dwords [r 0-3, r 8-11, r1 0-3, r1 8-11 | r 4-7, r 12-15, ...] -> row r, then row r1.
    bytes = _mm256_permutevar8x32_epi32(bytes, e.order);
    const __m128i row0 = _mm256_castsi256_si128(bytes);
    const __m128i row1 = _mm256_extracti128_si256(bytes, 1);
    if (n == static_cast<size_t>(kAvx2GemmNr)) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out[r] + n0), row0);
      if (MR > 1) _mm_storeu_si128(reinterpret_cast<__m128i*>(out[r1] + n0), row1);
    } else {
      alignas(16) uint8_t tmp[32];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), row0);
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp + 16), row1);
      std::memcpy(out[r] + n0, tmp, n);
      if (MR > 1) std::memcpy(out[r1] + n0, tmp + 16, n);
    }
  }
}

}  // namespace
}  // namespace wisp
