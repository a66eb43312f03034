// AVX-512 (F, BW, VL, VNNI) building blocks of the avx512vnni microkernels: the dot-product
// instruction and the requantization epilogue (quant_epilogue.h) on 16-lane vectors.
//
// Everything here has internal linkage on purpose: each ISA's files are compiled with their own
// flags (runtime/CMakeLists.txt), and an inline function shared by name between them could be
// merged by the linker into one copy built for the wrong ISA.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/quant_epilogue.h"

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || \
    !defined(__AVX512VNNI__)
#error "avx512_helpers.h needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

namespace wisp {
namespace {

// acc + per 32-bit lane sum of four u8 x s8 products (vpdpbusd). Written as assembly because
// GCC 12 surrounds every _mm512_dpbusd_epi32 with register copies (it does not tie the
// accumulator to the destination), which halves a register-blocked GEMM (limits/RESULTS.md);
// here the accumulator is tied and the signed operand may come straight from memory.
inline __m512i DotAdd(__m512i acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "vm"(s8));
  return acc;
}
inline __m256i DotAdd(__m256i acc, __m256i u8, __m256i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "vm"(s8));
  return acc;
}
inline __m128i DotAdd(__m128i acc, __m128i u8, __m128i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "vm"(s8));
  return acc;
}

// Four input bytes at p in every 32-bit lane, sign bits flipped when kFlip (int8 -> x + 128).
// GCC folds the pair into one vpxord with a broadcast memory operand.
template <bool kFlip>
inline __m512i Broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  const __m512i x = _mm512_set1_epi32(v);
  if constexpr (kFlip) return _mm512_xor_si512(x, _mm512_set1_epi8(static_cast<char>(0x80)));
  return x;
}

// The epilogue in XNNPACK's fp32 form, which equals quant_epilogue.h bit for bit:
//   q = sat8(sat16(sat16(round_even(min(f32(acc) * scale, qmax - zp))) + zp)), then max(q, qmin).
// min() before the conversion keeps it from overflowing upwards; an accumulator far below
// qmin - zp converts to INT32_MIN or saturates on the way down and ends at qmin. The clamp
// bounds are integers, so clamping before or after rounding agrees.
// "Bounded" variants drop the float min() for blocks whose scales are all below 1: then
// |f32(acc) * scale| < 2^31 converts exactly, the saturating packs carry anything out of range
// to the byte limits, and one byte min() with qmax replaces a float min() per 16 outputs (7%
// on K = 16..32 layers, where the epilogue costs as much as the dot products).
struct Avx512Requant {
  __m512 max;     // qmax - zp
  __m512i zp16;   // zp in every int16 lane
  __m512i qmin8;  // qmin in every byte
  __m512i qmax8;  // qmax in every byte
  __m512i order;  // vpermd index that undoes the in-lane interleave of the packs (below)
};

template <typename T>
inline Avx512Requant MakeAvx512Requant(const QuantEpilogue& e) {
  Avx512Requant r;
  r.max = _mm512_set1_ps(e.max);
  r.zp16 = _mm512_set1_epi16(static_cast<int16_t>(e.zero_point));
  r.qmin8 = _mm512_set1_epi8(static_cast<char>(e.qmin));
  r.qmax8 = _mm512_set1_epi8(static_cast<char>(e.qmax));
  r.order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return r;
}

// f32(acc) * scale, bounded above by qmax - zp (unless kBounded), rounded half to even
// (explicitly, whatever MXCSR).
template <bool kBounded = false>
inline __m512i Avx512Scale(__m512i acc, __m512 scale, const Avx512Requant& r) {
  __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
  if constexpr (!kBounded) x = _mm512_min_ps(x, r.max);
  return _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// Every scale below 1 (padding channels have 0): the bounded epilogue is exact.
inline bool Avx512ScalesBelowOne(__m512 s) {
  return _mm512_cmp_ps_mask(s, _mm512_set1_ps(1.0f), _CMP_LT_OQ) == 0xFFFF;
}

// Two vectors of scaled int32 -> int16 plus the zero point, saturating. Per 128-bit lane L the
// result holds a's lane L, then b's lane L.
inline __m512i Avx512PackZp(__m512i a, __m512i b, const Avx512Requant& r) {
  return _mm512_adds_epi16(_mm512_packs_epi32(a, b), r.zp16);
}

// Two vectors of int16 -> bytes of T clamped to [qmin, qmax]; per lane L: a's lane L, b's lane L.
template <typename T, bool kBounded = false>
inline __m512i Avx512PackBytes(__m512i a, __m512i b, const Avx512Requant& r) {
  if constexpr (std::is_same_v<T, int8_t>) {
    const __m512i q = _mm512_max_epi8(_mm512_packs_epi16(a, b), r.qmin8);
    return kBounded ? _mm512_min_epi8(q, r.qmax8) : q;
  }
  const __m512i q = _mm512_max_epu8(_mm512_packus_epi16(a, b), r.qmin8);
  return kBounded ? _mm512_min_epu8(q, r.qmax8) : q;
}

// Bytes b = Avx512PackBytes(PackZp(q0, q1), PackZp(q2, q3)) hold, per lane L, dword L of each
// source in the order q0 q1 q2 q3; after vpermd by `order` the 16 dwords read q0[0..3] q1[0..3]
// ... i.e. each source's 16 lanes are contiguous again: bytes 16j..16j+15 come from q_j.
inline __m512i Avx512Unshuffle(__m512i b, const Avx512Requant& r) {
  return _mm512_permutexvar_epi32(r.order, b);
}

inline __mmask64 Avx512ByteMask(size_t n) {
  return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
}

}  // namespace
}  // namespace wisp
