// The fp32 requantization of 8 output channels at once (XNNPACK's *_minmax_fp32 epilogue), for
// the optimized kernels on SSE2 or WebAssembly SIMD128: float(acc) * scale[c], clamp to
// [qmin - zp, qmax - zp], round half to even with the 1.5 * 2^23 bias, + zp, narrow. Every step
// is the scalar RequantizeFp32's own IEEE operation, so the bytes are the same; the rounding bias
// is exact only below 2^22, so callers fall back to scalar code when the clamp bounds are not
// (Requantize8Exact).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime/kernels/convolution_params.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define WISP_REQUANT_SIMD 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#define WISP_REQUANT_SIMD 1
#else
#define WISP_REQUANT_SIMD 0
#endif

namespace wisp {

// Whether the vector epilogue is exact for these output parameters.
inline bool Requantize8Exact(const QuantConvParams& p) {
  constexpr int64_t kLimit = 1 << 22;
  const int64_t lo = static_cast<int64_t>(p.qmin) - p.output_zero_point;
  const int64_t hi = static_cast<int64_t>(p.qmax) - p.output_zero_point;
  return lo > -kLimit && hi < kLimit && p.qmin >= -32768 && p.qmax <= 32767;
}

#if WISP_REQUANT_SIMD
#if defined(__wasm_simd128__)
using Int32x4 = v128_t;
#else
using Int32x4 = __m128i;
#endif

// out[j] = requantize(acc[j], channel c0 + j) for j < n (n <= 8); acc_lo/acc_hi hold channels
// c0..c0+3 and c0+4..c0+7 including the folded bias. Requires Requantize8Exact(p).
template <typename T>
inline void Requantize8(Int32x4 acc_lo, Int32x4 acc_hi, const QuantConvParams& p, int32_t c0,
                        int32_t n, T* out) {
  float scale[8];
  if (n == 8) {
    std::memcpy(scale, p.scale.data() + c0, sizeof(scale));
  } else {
    for (int j = 0; j < 8; ++j) scale[j] = j < n ? p.scale[c0 + j] : 0.0f;
  }
  const float lo = static_cast<float>(p.qmin - p.output_zero_point);
  const float hi = static_cast<float>(p.qmax - p.output_zero_point);
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  alignas(16) int8_t bytes[16];
#if defined(__wasm_simd128__)
  auto step = [&](v128_t acc, const float* s) {
    v128_t x = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), wasm_v128_load(s));
    x = wasm_f32x4_pmin(wasm_f32x4_splat(hi), wasm_f32x4_pmax(wasm_f32x4_splat(lo), x));
    x = wasm_f32x4_sub(wasm_f32x4_add(x, wasm_f32x4_splat(kMagic)), wasm_f32x4_splat(kMagic));
    return wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(x), wasm_i32x4_splat(p.output_zero_point));
  };
  const v128_t q16 = wasm_i16x8_narrow_i32x4(step(acc_lo, scale), step(acc_hi, scale + 4));
  const v128_t q8 = std::is_same_v<T, int8_t> ? wasm_i8x16_narrow_i16x8(q16, q16)
                                              : wasm_u8x16_narrow_i16x8(q16, q16);
  wasm_v128_store(bytes, q8);
#else
  auto step = [&](__m128i acc, const float* s) {
    __m128 x = _mm_mul_ps(_mm_cvtepi32_ps(acc), _mm_loadu_ps(s));
    x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(lo)), _mm_set1_ps(hi));
    x = _mm_sub_ps(_mm_add_ps(x, _mm_set1_ps(kMagic)), _mm_set1_ps(kMagic));
    return _mm_add_epi32(_mm_cvtps_epi32(x), _mm_set1_epi32(p.output_zero_point));
  };
  const __m128i q16 = _mm_packs_epi32(step(acc_lo, scale), step(acc_hi, scale + 4));
  const __m128i q8 =
      std::is_same_v<T, int8_t> ? _mm_packs_epi16(q16, q16) : _mm_packus_epi16(q16, q16);
  _mm_store_si128(reinterpret_cast<__m128i*>(bytes), q8);
#endif
  std::memcpy(out, bytes, static_cast<size_t>(n));
}
#endif

}  // namespace wisp
